//! Commands the screens call, one module per screen area. Each is async (never blocks the
//! UI thread), thin (the device engine decides), and returns [`crate::error::CommandError`].
//! Arguments are snake_case like the views they return (see `ui/src/api.ts`).

pub mod household;
pub mod media;
pub mod notices;
pub mod proxy;
pub mod session;
pub mod sync;
pub mod visit;
