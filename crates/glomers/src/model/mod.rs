//! The workbench's models as state machines: events in, with the time they happen,
//! actions out; no threads and no clock. Drivers (the threaded process driver today) do
//! the I/O and keep the time.

pub mod network;
