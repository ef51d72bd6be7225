//! Wire protocols spoken to alert servers, as pure functions over text: no sockets, no async, no
//! clocks. [`sio_frame`] turns Engine.IO v4 / Socket.IO v4 (protocol 5) WebSocket text frames into
//! typed packets and back; the connection layer that moves those frames over the network builds on
//! it, so everything here can be tested (and fuzzed with property tests) without a server.

pub mod sio_frame;
