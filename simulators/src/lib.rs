//! Provider simulators: real HTTP servers on loopback that speak the Gravity
//! emergepay and Nets Connect@Cloud protocols (docs/providers/), with a control
//! API under `/_sim` through which a test or a person plays the card holder, and
//! the documented card-holder control protocol under `/_conform` ([`conform`]).

pub mod conform;
pub mod gravity;
pub mod nets;
