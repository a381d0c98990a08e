//! A matchmaking application on rowgate: accounts and profiles, photos shared with matches,
//! match offers that become matches, messages between the two participants of a match,
//! blocks that hide both ways, reports and a moderation queue, enforcement actions, base
//! configuration overridden per user segment (served from the hot cache as
//! `effectiveConfig`), staff with an audit trail of every staff write, and GDPR export and
//! deletion requests.
//!
//! Everything is written against the engine's public API: the migration ([`migration`]),
//! entities generated from it ([`entities`], never edited by hand), every table's policy and
//! the principal facts ([`policies`]), write hooks ([`hooks`]), the `effectiveConfig`
//! extension ([`config`]) and the demo data ([`demo`]). See README.md for the rules in
//! one line each.

pub mod config;
pub mod demo;
pub mod entities;
pub mod hooks;
pub mod migration;
pub mod policies;

use entities::{
    admin_audit_log, admin_users, blocks, data_deletion_requests, data_export_requests,
    enforcement_actions, feature_flags, match_offers, matches, messages, moderation_queue, photos,
    profiles, reports, segment_config_overrides, system_config, user_segment_members,
    user_segments, users,
};
use rowgate::db::MigratorOf;
use rowgate::{Application, Builder, StartupError};

/// The application, unbuilt (to add to it, e.g. in a test).
pub fn builder() -> Builder {
    let builder = Builder::new("dating")
        .entity::<users::Entity>()
        .entity::<profiles::Entity>()
        .entity::<photos::Entity>()
        .entity::<match_offers::Entity>()
        .entity::<matches::Entity>()
        .entity::<messages::Entity>()
        .entity::<blocks::Entity>()
        .entity::<reports::Entity>()
        .entity::<moderation_queue::Entity>()
        .entity::<enforcement_actions::Entity>()
        .entity::<system_config::Entity>()
        .entity::<feature_flags::Entity>()
        .entity::<user_segments::Entity>()
        .entity::<user_segment_members::Entity>()
        .entity::<segment_config_overrides::Entity>()
        .entity::<admin_users::Entity>()
        .entity::<admin_audit_log::Entity>()
        .entity::<data_export_requests::Entity>()
        .entity::<data_deletion_requests::Entity>();
    hooks::register(builder)
        .column_facts(migration::enum_values, migration::has_default)
        .policies(policies::policies())
        .migrations(MigratorOf::<migration::Migrator>::new())
        .extension(config::EffectiveConfigExtension)
        .demo(demo::Demo)
}

/// The application: every table of [`migration::TABLES`] served under [`policies::policies`].
pub fn application() -> Result<Application, StartupError> {
    builder().build()
}
