//! Provider simulators: real HTTP servers on loopback that speak the Gravity
//! emergepay and Nets Connect@Cloud protocols (docs/providers/), with a control
//! API under `/_sim` through which a test or a person plays the card holder.

pub mod gravity;
pub mod nets;
