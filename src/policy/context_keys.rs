//! The context keys a policy refers to, as `GetContextKeysForCustomPolicy` and
//! `GetContextKeysForPrincipalPolicy` list them
//! (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html>):
//! the keys of `Condition` blocks and the keys of policy variables (`${aws:username}` in a
//! `Resource`, or in the values of string and ARN operators), spelled as the document spells
//! them, in document order, each once (keys are case-insensitive). The API reference's example
//! answers `aws:username` (a `Resource` variable) before `aws:CurrentTime` (a condition key that
//! follows it in the document).
//!
//! The compiled [`Policy`] keeps keys lowercased and conditions in key order, so the document
//! is read again here, in order, from the text [`Policy::parse`] already validated.

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::condition::Operator;
use super::variables::variable_keys;
use super::{Policy, PolicyVersion};

/// A JSON value with object members in document order (duplicates kept).
enum Json {
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
    Other,
}

impl Json {
    /// The last member named `name` (the one a JSON parser keeps), if this is an object.
    fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Strings of a string-or-array value.
    fn strings(&self) -> Vec<&str> {
        match self {
            Json::Str(s) => vec![s.as_str()],
            Json::Arr(items) => items
                .iter()
                .filter_map(|i| match i {
                    Json::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
                Ok(Json::Str(s))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(i) = seq.next_element()? {
                    items.push(i);
                }
                Ok(Json::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    members.push((k, v));
                }
                Ok(Json::Obj(members))
            }
        }
        d.deserialize_any(V)
    }
}

/// The context keys `policy` refers to, in document order, each once (first spelling kept).
pub fn context_keys(policy: &Policy) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: &str| {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
            out.push(k.to_owned());
        }
    };
    // The text was parsed once already; a failure here cannot happen and means "no keys".
    let Ok(doc) = serde_json::from_str::<Json>(policy.source()) else {
        return out;
    };
    let vars = policy.version() == PolicyVersion::V2012_10_17;
    let statements: Vec<&Json> = match doc.get("Statement") {
        Some(Json::Arr(items)) => items.iter().collect(),
        Some(one @ Json::Obj(_)) => vec![one],
        _ => Vec::new(),
    };
    for stmt in statements {
        let Json::Obj(fields) = stmt else { continue };
        for (field, value) in fields {
            match field.as_str() {
                "Resource" | "NotResource" if vars => {
                    for r in value.strings() {
                        variable_keys(r).into_iter().for_each(&mut push);
                    }
                }
                "Condition" => {
                    let Json::Obj(ops) = value else { continue };
                    for (op, block) in ops {
                        let Json::Obj(keys) = block else { continue };
                        let op_vars = vars && operator_allows_variables(op);
                        for (key, values) in keys {
                            push(key);
                            if op_vars {
                                for v in values.strings() {
                                    variable_keys(v).into_iter().for_each(&mut push);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether the operator named `name` (with any set prefix or `IfExists`) substitutes variables
/// in its values.
fn operator_allows_variables(name: &str) -> bool {
    let base = name
        .strip_prefix("ForAnyValue:")
        .or_else(|| name.strip_prefix("ForAllValues:"))
        .unwrap_or(name);
    let base = base.strip_suffix("IfExists").unwrap_or(base);
    Operator::from_name(base).is_some_and(Operator::allows_variables)
}

#[cfg(test)]
mod tests {
    use super::super::PolicyKind;
    use super::*;

    fn keys(doc: &str) -> Vec<String> {
        context_keys(&Policy::parse(doc, PolicyKind::Identity).unwrap())
    }

    /// The example of the API reference's `GetContextKeysForCustomPolicy` page.
    #[test]
    fn the_api_reference_example() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}"#;
        assert_eq!(keys(doc), ["aws:username", "aws:CurrentTime"]);
    }

    #[test]
    fn document_order_each_key_once_case_kept() {
        let doc = r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::${aws:PrincipalTag/team, 'x'}/*"],
             "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*", "home/"]},
                           "Bool": {"aws:MultiFactorAuthPresent": "true"},
                           "ForAnyValue:StringEquals": {"aws:TagKeys": "${aws:userid}"}}},
            {"Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"NumericGreaterThanIfExists": {"AWS:MultiFactorAuthAge": 3600},
                           "Null": {"aws:username": "false"}}}]}"#;
        assert_eq!(
            keys(doc),
            [
                "aws:PrincipalTag/team",
                "s3:prefix",
                "aws:username",
                "aws:MultiFactorAuthPresent",
                "aws:TagKeys",
                "aws:userid",
                "AWS:MultiFactorAuthAge",
            ]
        );
    }

    #[test]
    fn no_variables_under_the_2008_grammar_or_in_other_operators() {
        let old = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}"}}"#;
        assert!(keys(old).is_empty());
        let escapes = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${*}${?}${$}${notakey}"}}"#;
        assert!(keys(escapes).is_empty());
        let date = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}"#;
        assert_eq!(keys(date), ["aws:CurrentTime"]);
    }

    #[test]
    fn trust_and_resource_policies_too() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:o/r:*"},"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#;
        let p = Policy::parse(trust, PolicyKind::Trust).unwrap();
        assert_eq!(
            context_keys(&p),
            [
                "token.actions.githubusercontent.com:sub",
                "token.actions.githubusercontent.com:aud"
            ]
        );
    }
}
