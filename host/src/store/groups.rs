//! Writes that wait at the same moment, written together (issue 15). Under
//! load on SQLite every write waits in the one writer's queue; a queue of
//! this kind lets the first waiter start one task that takes the write turn
//! and then everything that joined while it waited, so many callers share one
//! turn (and one statement or one transaction) instead of taking one each.

use std::sync::{Mutex, PoisonError};

/// The items waiting for the next group.
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    waiting: Vec<T>,
    /// A task is on its way to take what waits.
    taking: bool,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                waiting: Vec::new(),
                taking: false,
            }),
        }
    }
}

impl<T> Queue<T> {
    /// Adds `item`. True when no task is on its way for it: the caller must
    /// start one (a task of its own, so that a caller that goes away does not
    /// strand the items that joined its group), which calls [`Queue::take`].
    pub fn push(&self, item: T) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting.push(item);
        !std::mem::replace(&mut state.taking, true)
    }

    /// Everything waiting now; the next push starts another task.
    pub fn take(&self) -> Vec<T> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.taking = false;
        std::mem::take(&mut state.waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_push_after_a_take_starts_a_task_and_a_take_empties_the_queue() {
        let q = Queue::default();
        assert!(q.push(1));
        assert!(!q.push(2));
        assert_eq!(q.take(), vec![1, 2]);
        assert!(q.take().is_empty());
        assert!(q.push(3));
        assert!(!q.push(4));
        assert_eq!(q.take(), vec![3, 4]);
    }
}
