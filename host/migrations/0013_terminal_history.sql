-- `status` is told which attempt ran on a terminal before and after the one it
-- asks about (contract 0.2), so recovery looks attempts up by terminal and
-- send time.
CREATE INDEX payments_by_terminal_sent ON payments (terminal_id, sent_at);
