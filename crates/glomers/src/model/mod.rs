//! The workbench's models as state machines: events in, with the time they happen,
//! actions out; no threads and no clock. Drivers do the I/O and keep the time: the
//! threaded process driver (`net`, `process`, `run`) today, and the simulation driver
//! being built on these pieces (the network model, and [`node::SimNode`], a node run
//! in-process through its own protocol).

pub mod network;
pub mod node;
pub mod run;
