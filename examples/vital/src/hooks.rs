//! Write hooks: what a write does besides its own row, in its transaction.

use rowgate::error::AppResult;
use rowgate::hooks::{HookTx, RowExt, Write, WriteHook, WriteOp, async_trait};
use serde_json::json;

use crate::entities::profiles;

/// Registers every hook of the application.
pub fn register(builder: rowgate::Builder) -> rowgate::Builder {
    builder.hook::<profiles::Entity>(RemovedProfileLosesRole)
}

/// A removed (soft-deleted) profile keeps no role: its `role` becomes `user`, so the
/// principal facts loaded from it (`edits_tenants`, `admin_tenants`) no longer name its
/// tenant. The facts are loaded from `profiles` by the user's id whatever `deleted_at` says,
/// so without this a removed editor's token would keep editing.
struct RemovedProfileLosesRole;

#[async_trait]
impl WriteHook for RemovedProfileLosesRole {
    fn name(&self) -> &'static str {
        "removed_profile_loses_role"
    }

    async fn after(&self, tx: &HookTx<'_>, write: &Write<'_>) -> AppResult<()> {
        use profiles::Column as C;
        let (WriteOp::Delete, Some(id)) = (write.op, write.row().uuid(C::Id)) else {
            return Ok(());
        };
        if write.row().text(C::Role) == Some("user") {
            return Ok(());
        }
        tx.update(
            profiles::Entity,
            [(C::Id, json!(id))],
            [(C::Role, json!("user"))],
        )
        .await
        .map(drop)
    }
}
