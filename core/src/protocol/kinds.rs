//! Record kinds as stored and sent: the tags of [`super::Record`], written once for the
//! device, the server and the feed.

pub const HOUSEHOLD: &str = "household";
pub const CASE: &str = "case";
pub const VISIT: &str = "visit";
pub const PHOTO: &str = "photo";
pub const PLAN: &str = "plan";
pub const FOLLOW_UP: &str = "follow_up";
pub const APPEAL: &str = "appeal";
pub const CONFLICT: &str = "conflict";
pub const TEMPLATE: &str = "template";
/// Prefix of free-form documents (`PutDocument`, the sync benchmark's raw documents).
pub const DOCUMENT_PREFIX: &str = "doc:";
