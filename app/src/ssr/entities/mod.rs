//! SeaORM entities: how the product's records are stored. Table names are plural nouns.

pub mod api_key;
pub mod membership;
pub mod organization;
pub mod project;
pub mod session;
pub mod user;
