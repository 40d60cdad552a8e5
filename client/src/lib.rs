//! Device engine.
