//! Device lifecycle tests with cheap key derivation (the logic, not the cost).
