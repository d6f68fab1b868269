//! Tags of users and roles: `Tag*`, `Untag*` and `List*Tags`, one handler each over the kind.
//! (OpenID Connect providers, found by ARN, have their own handlers over the same shapes in
//! `super::oidc_providers`.)

use crate::error::{ApiError, ApiResult};
use crate::protocol::input::input;
use crate::protocol::output::Output;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::Tags;

use super::entity::{Named, TaggedKind, entity_error};
use super::input::{IamTags, Paging, TagKeys};
use super::{check_tag_quota, page_by_position, write_paging, write_tags};

input! {
    /// `TagUser`, `TagRole`
    pub(crate) struct TagInput<K: TaggedKind> {
        entity: Named<K> = nested(),
        tags: IamTags = nested(),
    }
    check(this) {
        if this.tags.0.is_empty() {
            return Err(ApiError::missing_parameter("Tags"));
        }
        Ok(())
    }
}

pub(crate) async fn tag<K: TaggedKind>(cx: &Cx<'_>, input: TagInput<K>) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    // The merged set must stay within 50 tags.
    let tags = input.tags.0;
    check_tag_quota(&t.tags, &tags, K::TAG_QUOTA)?;
    cx.state
        .store
        .apply_one(K::tag(cx.account(), &t, tags))
        .await
        .map_err(|e| entity_error(e, &t))?;
    Ok(())
}

input! {
    /// `UntagUser`, `UntagRole`
    pub(crate) struct UntagInput<K: TaggedKind> {
        entity: Named<K> = nested(),
        tag_keys: TagKeys = nested(),
    }
    check(this) {
        if this.tag_keys.0.is_empty() {
            return Err(ApiError::missing_parameter("TagKeys"));
        }
        Ok(())
    }
}

pub(crate) async fn untag<K: TaggedKind>(cx: &Cx<'_>, input: UntagInput<K>) -> ApiResult<()> {
    let t = input.entity.authorized(cx)?;
    cx.state
        .store
        .apply_one(K::untag(cx.account(), &t, input.tag_keys.0))
        .await
        .map_err(|e| entity_error(e, &t))?;
    Ok(())
}

input! {
    /// `ListUserTags`, `ListRoleTags`
    pub(crate) struct ListTagsInput<K: TaggedKind> {
        entity: Named<K> = nested(),
        paging: Paging = nested(),
    }
}

/// One page of an entity's tags.
#[derive(Debug)]
pub(crate) struct TagPage {
    tags: Tags,
    marker: Option<String>,
}

impl TagPage {
    /// The page of `tags` that `paging` asks for.
    pub(crate) fn of(tags: &Tags, paging: &Paging) -> Self {
        let (tags, marker) = page_by_position(
            tags.iter().cloned(),
            paging.marker.as_deref(),
            paging.max_items,
        );
        Self { tags, marker }
    }
}

impl Output for TagPage {
    fn write(&self, x: &mut Xml) {
        write_tags(x, &self.tags);
        write_paging(x, self.marker.as_deref());
    }
}

pub(crate) async fn list_tags<K: TaggedKind>(
    cx: &Cx<'_>,
    input: ListTagsInput<K>,
) -> ApiResult<TagPage> {
    let t = input.entity.authorized(cx)?;
    Ok(TagPage::of(&t.tags, &input.paging))
}
