//! What both backends' migration runners share: the check against a newer schema.

use crate::StoreError;

/// Refuses a store whose schema is newer than `known` migrations; returns how many are applied.
pub(crate) fn applied(found: i64, known: usize) -> Result<usize, StoreError> {
    let known = i64::try_from(known).unwrap_or(i64::MAX);
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    Ok(usize::try_from(found).unwrap_or(0))
}
