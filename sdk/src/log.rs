//! Logging into the host's log, tagged with the plugin id. Never log card
//! numbers, and write secrets only as their placeholders.

pub use crate::bindings::vetpay::terminal::log::Level;
use crate::host::log;

pub fn trace(message: impl AsRef<str>) {
    log(Level::Trace, message.as_ref());
}
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
