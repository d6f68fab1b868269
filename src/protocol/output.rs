//! Typed action outputs: a handler returns a struct, and [`render`] writes the one XML document
//! for it. Each output says how its fields appear (`<OpResult>` content) in its [`Output`] impl;
//! shapes shared by several actions (credentials, users, roles, tags, paging) are written once.

use crate::arn::Partition;
use crate::protocol::xml::{self, Xml};

/// What an action answers.
pub(crate) trait Output {
    /// Write the `<OpResult>` content.
    fn write(&self, x: &mut Xml);

    /// Bytes to reserve for the result, so the document is built without growing.
    fn size_hint(&self) -> usize {
        512
    }

    /// Actions that answer nothing send no `<OpResult>` element at all.
    fn has_result(&self) -> bool {
        true
    }
}

/// The answer of actions that return nothing but the request id.
impl Output for () {
    fn write(&self, _: &mut Xml) {}

    fn size_hint(&self) -> usize {
        0
    }

    fn has_result(&self) -> bool {
        false
    }
}

/// The whole response document for `out`.
pub(crate) fn render(
    action: &str,
    namespace: &str,
    out: &impl Output,
    request_id: &str,
    partition: Partition,
) -> String {
    let write = |x: &mut Xml| out.write(x);
    xml::document(
        action,
        namespace,
        request_id,
        partition,
        out.size_hint(),
        out.has_result().then_some(&write as &dyn Fn(&mut Xml)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;

    impl Output for One {
        fn write(&self, x: &mut Xml) {
            x.elem("A", "b");
        }
    }

    #[test]
    fn renders_the_same_document_as_the_envelope_writer() {
        let mut x = Xml::new();
        x.elem("A", "b");
        assert_eq!(
            render("Op", xml::STS_NS, &One, "rid", Partition::Aws),
            xml::success("Op", xml::STS_NS, Some(&x), "rid")
        );
        assert_eq!(
            render("Op", xml::IAM_NS, &(), "rid", Partition::Aws),
            xml::success("Op", xml::IAM_NS, None, "rid")
        );
    }
}
