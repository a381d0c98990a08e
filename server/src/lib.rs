//! The reference application of rowgate: the multi-tenant schema of `docs/SCHEMA.md` — its
//! migration (`migration/`), the entities generated from it (`entities/`), the policies of
//! every table ([`policies`]), the write hooks ([`hooks`]), the `me` and notification extensions ([`me`], [`notifications`]) and the demo data ([`seed`]) —
//! put together with the engine's [`rowgate::Builder`] and served as the `rowgate` binary.

pub mod hooks;
pub mod me;
pub mod notifications;
pub mod policies;
pub mod seed;

use rowgate::db::MigratorOf;
use rowgate::{Application, Builder, StartupError};

/// Registers every generated entity (the list comes from `entities/src/lib.rs`, see
/// `build.rs`), so a table added by regenerating the entities needs no hand-written line.
macro_rules! entity_tables {
    ($($module:ident),* $(,)?) => {
        fn with_entities(builder: Builder) -> Builder {
            builder$(.entity::<entities::$module::Entity>())*
        }
    };
}
include!(concat!(env!("OUT_DIR"), "/entity_tables.rs"));

/// The reference application, unbuilt (to add to it, e.g. in a test).
pub fn builder() -> Builder {
    hooks::register(with_entities(Builder::new("reference")))
        .column_facts(migration::enum_values, migration::has_default)
        .policies(policies::policies())
        .migrations(MigratorOf::<migration::Migrator>::new())
        .extension(me::MeExtension)
        .extension(notifications::NotificationsExtension)
        .demo(seed::demo::Demo)
}

/// The reference application.
pub fn application() -> Result<Application, StartupError> {
    builder().build()
}
