//! Progress shown to the clinic's staff while a request runs.

pub use crate::bindings::vetpay::terminal::progress::Stage;

/// Reports the stage the running call has reached.
pub fn report(stage: Stage, message: Option<&str>) {
    crate::host::progress(&stage, message);
}
