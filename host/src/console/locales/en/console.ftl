# vetpay console, English.

## Formats
# jiff strftime: the date and time of day.
format-date-time = %b %-d, %Y, %-I:%M %p
# Money: $sign is "-" or nothing, $amount the grouped digits.
money-usd = { $sign }${ $amount }
money-dkk = { $sign }DKK { $amount }
money-eur = { $sign }€{ $amount }
money-sek = { $sign }SEK { $amount }
money-nok = { $sign }NOK { $amount }
money-other = { $sign }{ $code } { $amount }

## Frame
skip-to-content = Skip to content
nav-label = Main
nav-invoices = Invoices
nav-clients = Clients
nav-plugins = Plugins
nav-terminals = Terminals
nav-settings = Settings
nav-health-plans = Health plans
nav-billing-runs = Billing runs
nav-keys = API keys
nav-audit = Audit trail
role-admin = admin
role-staff = staff
sign-out = Sign out

## Sign-in
sign-in-title = Sign in
sign-in-intro = Sign in with your vetpay API key. The demo prints one when it starts.
sign-in-key = API key
sign-in-button = Sign in
sign-in-refused = That key is unknown, expired or revoked.

## Errors
error-title = Something went wrong
error-forbidden = This page is for admins. Sign in with an admin key to see it.
error-csrf = The form is out of date. Reload the page and try again.
error-not-found = There is nothing here.
error-amount = Write the amount as a number, such as 1234.50.
error-integer = { $field } must be a whole number.
back-to-invoices = Back to the invoices

## Lists
search-label = Client or number
client-search-label = Name, email or phone
status-label = Status
status-any = Any status
search-button = Search
show = Show
none-found = Nothing found.
invoices-title = Invoices
clients-title = Clients
col-number = Number
col-client = Client
col-department = Department
col-status = Status
col-total = Total
col-due = Due
col-description = Description
col-quantity = Quantity
col-unit-price = Unit price
col-vat-rate = VAT rate
col-vat = VAT
col-date = Date
col-kind = Kind
col-method = Type
col-card = Card
col-amount = Amount
col-actions = Actions
col-name = Name
col-email = Email
col-phone = Phone
col-species = Species
col-birth-date = Birth date
col-health-plan = Health plan
col-terminal-id = Terminal id
col-type = Type
col-plugin = Plugin
col-model = Model
col-last-end-of-day = Last End of Day

## Invoices
invoice = Invoice
invoice-draft = Draft
invoice-summary = Summary
invoice-status-draft = Draft
invoice-status-finalised = Open
invoice-status-partially_paid = Partly paid
invoice-status-paid = Paid
finalised-at = Finalised
lines = Lines
sum-net = Net
sum-vat = VAT
sum-total = Total
sum-credited = Credited
sum-paid = Paid
sum-due = Due
finalise = Finalise
invoice-finalised = The invoice is finalised.
payment = Payment
credit-note = Credit note
credit-note-made = The credit note is made.
payments = Payments
no-payments = No payments yet.
refund = Refund

## Payments
kind-payment = Payment
kind-deposit = Deposit
kind-refund = Refund
method-label = Type
method-card = Card
method-saved_card = Saved card
method-cash = Cash
method-bank_transfer = Bank transfer
method-client_credit = Client credit
method-other = Other
status-processing = Processing
status-succeeded = Succeeded
status-failed = Failed
status-cancelled = Cancelled
status-unknown = Being checked
status-needs_review = Needs review
pay-title = Payment
pay-due = Due: { $due }
amount-label = Amount ({ $currency })
terminal-label = Terminal
card-label = Card
no-terminals = No terminal of this department can take cards: its plugin is not switched on here.
process-card = Process card
register-payment = Register payment
cancel = Cancel
result-succeeded = The payment went through.
result-failed = The payment failed: declined, or cancelled on the terminal.
result-cancelled = The payment was aborted by the clinic.
result-unknown = The result is not known yet; vetpay is checking with the provider.
result-needs_review = The provider gave no clear answer; someone must check this payment.
deposit-result-succeeded = The deposit went through.
deposit-result-failed = The deposit failed: declined, or cancelled on the terminal.
deposit-result-cancelled = The deposit was aborted by the clinic.
deposit-result-needs_review = The provider gave no clear answer; someone must check this deposit.
refund-result-succeeded = The refund went through.
refund-result-failed = The refund failed: declined, or cancelled on the terminal.
refund-result-cancelled = The refund was aborted by the clinic.
refund-result-needs_review = The provider gave no clear answer; someone must check this refund.

## The terminal dialog
dialog-payment-title = Card payment
dialog-deposit-title = Card deposit
dialog-refund-title = Card refund
stage-connecting = Connecting to the terminal…
stage-waiting-for-card = Waiting for the card…
stage-waiting-for-pin = Waiting for the PIN…
stage-processing = Processing…
stage-waiting-for-result = Waiting for the result…
stage-cancelling = Cancelling…
stage-other = Working…
abort = Abort
abort-asked = Aborting…

## Refunds
refund-title = Refund
refund-of = The payment was { $amount }.
refund-amount-label = Refund ({ $currency })
refund-hint = A refund is booked as a negative amount; make it smaller to refund part.
refund-to = Refund to
refund-on-terminal = On terminal { $terminal }
refund-to-card = To the card, or as it was paid

## Clients
client-tabs = Client
tab-details = Details
tab-billing = Billing
patients = Patients
species-dog = Dog
species-cat = Cat
species-rabbit = Rabbit
species-horse = Horse
species-bird = Bird
plan-member = health-plan member
credit = Credit
deposit = Deposit
deposits = Deposits
saved-cards = Saved cards
card-default = Default
card-make-default = Make default
card-delete = Delete
card-default-set = The card is the default now.
card-deleted = The card is deleted.
no-cards = No saved cards.
cards-not-allowed = This department does not allow recurring charges, so saved cards are not shown.

plan-sign-up = Sign up for a health plan
patient-label = Patient
plan-signed-up = The patient is signed up.
plan-payment-option = Paid by
plan-option-monthly_invoice = Monthly invoice
plan-option-saved_card = Saved card, every month
plan-option-third_party = A third party
plan-option-manual = Invoices made by hand
plan-option-advance = In advance
plan-activate = Activate
plan-activated = The subscription is active.
plan-included = Included
plan-used = Used
plan-remaining = Remaining
subscription-applied = Applied
subscription-active = Active
subscription-suspended = Suspended
subscription-lapsed = Lapsed
subscription-ended = Ended
subscription-cancelled = Cancelled

## Administration
plugins-title = Plugins
plugin-markets = Markets
plugin-currencies = Currencies
plugin-capabilities = Capabilities
plugin-enabled = Switched on for
plugin-market-label = Market (country code)
plugin-enable = Switch on
plugin-disable = Switch off
market-enabled = The plugin is switched on for the market.
market-disabled = The plugin is switched off for the market.
plugin-upload-title = Install a plugin
plugin-upload-label = Plugin file (.wasm)
plugin-upload-button = Install
plugin-upload-missing = Choose a .wasm file to install.
plugin-installed = { $name } is installed.
plugin-settings = Settings
secret-set = Set (hidden)
secret-not-set = Not set
save = Save
settings-saved = Saved.
allowed-hosts = Allowed hosts
allowed-hosts-manifest = The plugin itself may reach: { $hosts }
allowed-hosts-extra = More hosts, one a line
terminals-title = Terminals
terminal-add = Add terminal
terminal-added = The terminal is added.
terminal-type-hint = Nets terminals are "Connect@Cloud".
end-of-day = End of Day
end-of-day-title = End of Day
end-of-day-done = End of Day is done (reference { $reference }).
back-to-terminals = Back to the terminals
settings-title = Settings
settings-organisation = Organisation
health-plans-off = Health plans are an add-on that is off for your organisation; an admin switches it on in the settings.
health-plans-title = Health-plan catalog
billing-runs-title = Billing runs
billing-period = Month (YYYY-MM)
billing-run-start = Start a billing run
billing-run-live = A run is under way; this page follows its progress.
billing-run-started = The billing run is started.
keys-title = API keys
key-new = New key
key-create = Make the key
key-expires-days = Expires in days (empty: never)
key-secret-once = The new key, shown this once: copy it now.
key-revoke = Revoke
key-revoked = The key is revoked.
audit-title = Audit trail
field-name = Name
field-species = Species
field-contract_months = Months
field-monthly_price = Monthly price
field-period = Month
field-status = Status
field-processed = Done
field-total = Total
field-failed = Failed
field-started_at = Started
field-role = Role
field-created_at = Created
field-expires_at = Expires
field-last_used_at = Last used
field-revoked_at = Revoked
field-at = When
field-actor_key_name = Key
field-action = Action
field-target_type = Of
field-target_id = Id

## Terminals from the provider
provider-terminals = The { $plugin } account's terminals
col-supported = Supported
yes = Yes
no = No
provider-terminal-registered = Registered
provider-terminals-none = The provider lists no terminal for this account.

## Plugin settings by level
plugin-settings-department = Settings for { $department }
plugin-settings-none-here = This plugin has no setting at this level.

## Health-plan catalog
plan-new = New health plan
plan-create = Create plan
plan-created = The plan { $name } is created.
plan-items = Included items
plan-field-name = Name
plan-field-description = Description
plan-field-main_department_id = Main department (receives the payments)
plan-field-species = Species (any when empty)
plan-field-contract_months = Contract months
plan-field-monthly_price = Monthly price
plan-field-upfront_price = Upfront price
plan-field-cancellation_fee = Cancellation fee
plan-field-renews = Renews at the end of the contract
plan-item-code = Code
plan-item-description = Item
plan-item-quantity = Quantity
plan-item-discount = Discount %
plan-item-price = Unit price
plan-item-price-of = Unit price of item { $row }
error-amount-field = { $field }: write the amount as a number, such as 1234.50.

## Billing runs
billing-run-title = Billing run
billing-run-of = Billing of { $period }
billing-run-progress = Progress
billing-run-counts = { $processed } of { $total } months billed
run-status-running = Running
run-status-done = Done
run-status-failed = Failed
field-invoiced = Invoices issued
field-charged = Cards charged

## The day's close
nav-day-close = Day close
close-title = Close the day
close-department = Department
close-today = Close today
close-none = This day is not closed.
close-balanced = Balanced: the books and the terminals agree.
close-not-balanced = Not balanced: see what differs below.
close-takings = Takings
close-group = Of
close-count = Count
close-payments = Payments
close-deposits = Deposits
close-refunds = Refunds
close-net = Net
close-eod-agrees = End of Day agrees with the books
close-eod-differs = End of Day differs from the books
close-eod-not-compared = End of Day gave no totals: not compared with the books
close-eod-failed = End of Day failed
close-open = { $count } payment(s) still open: resolve them, and they go into a later close.
close-csv = Download as CSV

## The item catalog
nav-catalog = Catalog
catalog-title = Item catalog
catalog-search = Code or name
catalog-code = Code
catalog-kind = Kind
catalog-kind-service = Service
catalog-kind-medicine = Medicine
catalog-kind-goods = Goods
catalog-vat = VAT (%)
catalog-price = Price
catalog-currency = Currency
catalog-name-en = Name (English)
catalog-name-da = Name (Danish)
catalog-new = New item
catalog-add = Add item
catalog-added = The item was added.
catalog-archive = Archive
catalog-restore = Restore
catalog-archived = The item was archived: it can no longer be invoiced.
catalog-restored = The item was restored.
catalog-is-archived = archived
