//! Typed action inputs: each action's parameters are read into its input struct here, once,
//! with AWS's constraints (required, length, pattern, range, member lists and maps). Handlers
//! take the struct and never see [`Params`].
//!
//! An input is declared with [`input!`]: a struct whose fields say which parameter they read and
//! how (`required`, `optional`, `or_default`, `list`, `nested`). A field's type carries its
//! constraints ([`Field`]); shapes made of several parameters (tags, paging, session policies,
//! MFA serial and code) are [`Input`]s themselves and are read with `nested()`.
//!
//! Order of errors, as AWS answers: a missing required parameter or a value of the wrong type
//! fails at once; constraint violations are collected and reported together
//! (`N validation errors detected: ...`) once the whole input has been read.

use crate::arn::Partition;
use crate::error::{ApiError, ApiResult};
use crate::protocol::params::{self, Params, Validator};

/// An action's input, or a group of parameters inside one.
pub(crate) trait Input: Sized {
    /// Read from the parameters, recording constraint violations in `r`.
    fn read(r: &mut Reader<'_>) -> ApiResult<Self>;

    /// Rules across fields, checked once every field is valid.
    fn check(&self) -> ApiResult<()> {
        Ok(())
    }
}

/// Parse a whole action input from `params`.
pub(crate) fn parse<T: Input>(params: &Params) -> ApiResult<T> {
    let mut r = Reader::new(params);
    let input = T::read(&mut r)?;
    r.finish()?;
    input.check()?;
    Ok(input)
}

/// A value read from one parameter. Constraint violations are recorded in `v` (the value is
/// still returned, and the input is refused once read); a value of the wrong type is an
/// immediate error.
pub(crate) trait Field: Sized {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self>;
}

/// Reads parameters and collects violations.
#[derive(Debug)]
pub(crate) struct Reader<'p> {
    params: &'p Params,
    v: Validator,
}

impl<'p> Reader<'p> {
    pub(crate) fn new(params: &'p Params) -> Self {
        Self {
            params,
            v: Validator::new(),
        }
    }

    /// The violations collector, for checks across parameters.
    pub(crate) fn validator(&mut self) -> &mut Validator {
        &mut self.v
    }

    /// A required parameter: `MissingParameter` when absent.
    pub(crate) fn required<T: Field>(&mut self, name: &str) -> ApiResult<T> {
        let raw = self
            .params
            .get(name)
            .ok_or_else(|| ApiError::missing_parameter(name))?;
        T::read(name, raw, &mut self.v)
    }

    pub(crate) fn optional<T: Field>(&mut self, name: &str) -> ApiResult<Option<T>> {
        match self.params.get(name) {
            None => Ok(None),
            Some(raw) => T::read(name, raw, &mut self.v).map(Some),
        }
    }

    /// An optional parameter whose absence means the type's default (e.g. `Path` = `/`).
    #[allow(dead_code, reason = "IAM inputs with defaulted parameters use it")]
    pub(crate) fn or_default<T: Field + Default>(&mut self, name: &str) -> ApiResult<T> {
        Ok(self.optional(name)?.unwrap_or_default())
    }

    /// `Name.member.1`, `Name.member.2`, ... (dense from 1), at most `max` members.
    pub(crate) fn list<T: Field>(&mut self, name: &str, max: usize) -> ApiResult<Vec<T>> {
        let raw = self.params.list(name)?;
        self.v.count(name, raw.len(), max);
        let mut out = Vec::with_capacity(raw.len());
        for (i, value) in raw.into_iter().enumerate() {
            let member = format!("{name}.member.{}", i + 1);
            out.push(T::read(&member, value, &mut self.v)?);
        }
        Ok(out)
    }

    /// `Name.member.N.Field` structures, as maps from field name to value.
    pub(crate) fn structs(
        &mut self,
        name: &str,
        fields: &[&str],
    ) -> ApiResult<Vec<std::collections::BTreeMap<String, String>>> {
        self.params.struct_list(name, fields)
    }

    /// A group of parameters read as one value.
    pub(crate) fn nested<T: Input>(&mut self) -> ApiResult<T> {
        T::read(self)
    }

    pub(crate) fn finish(mut self) -> ApiResult<()> {
        self.v.finish()
    }
}

/// Declare an action input: a struct and its [`Input`] impl, one line per field saying which
/// parameter it reads and how.
///
/// ```ignore
/// input! {
///     /// `CreateUser`
///     pub(crate) struct CreateUserInput {
///         user_name: NewName = required("UserName"),
///         path: IamPath = or_default("Path"),
///         tags: IamTags = nested(),
///     }
/// }
/// ```
macro_rules! input {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident $(<$g:ident: $bound:path>)? {
            $($(#[$fmeta:meta])* $field:ident : $ty:ty = $how:ident ( $($arg:expr),* $(,)? )),* $(,)?
        }
        $(check($this:ident) $check:block)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name $(<$g: $bound>)? {
            $($(#[$fmeta])* pub(crate) $field: $ty,)*
        }

        impl $(<$g: $bound>)? $crate::protocol::input::Input for $name $(<$g>)? {
            #[allow(unused_variables, reason = "inputs without parameters read nothing")]
            fn read(
                r: &mut $crate::protocol::input::Reader<'_>,
            ) -> $crate::error::ApiResult<Self> {
                Ok(Self {
                    $($field: r.$how($($arg),*)?,)*
                })
            }

            $(
                fn check(&self) -> $crate::error::ApiResult<()> {
                    let $this = self;
                    $check
                }
            )?
        }
    };
}
pub(crate) use input;

// --- field types -------------------------------------------------------------------------------

impl Field for String {
    fn read(_: &str, raw: &str, _: &mut Validator) -> ApiResult<Self> {
        Ok(raw.to_owned())
    }
}

impl Field for i64 {
    fn read(name: &str, raw: &str, _: &mut Validator) -> ApiResult<Self> {
        raw.trim().parse::<i64>().map_err(|_| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must be a number",
                params::sanitize(raw),
                params::member_name(name)
            ))
        })
    }
}

impl Field for bool {
    fn read(name: &str, raw: &str, _: &mut Validator) -> ApiResult<Self> {
        if raw.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if raw.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must be a boolean",
                params::sanitize(raw),
                params::member_name(name)
            )))
        }
    }
}

/// An integer within `MIN..=MAX` (e.g. `DurationSeconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int<const MIN: i64, const MAX: i64>(pub(crate) i64);

impl<const MIN: i64, const MAX: i64> Field for Int<MIN, MAX> {
    fn read(name: &str, raw: &str, v: &mut Validator) -> ApiResult<Self> {
        let n = i64::read(name, raw, v)?;
        v.range(name, n, MIN, MAX);
        Ok(Self(n))
    }
}

impl<const MIN: i64, const MAX: i64> Int<MIN, MAX> {
    pub(crate) fn get(self) -> i64 {
        self.0
    }
}

/// What a string field keeps of its text: the text, or what `keep` makes of it.
macro_rules! kept_value {
    ($raw:ident) => {
        $raw.to_owned()
    };
    ($raw:ident, $keep:expr) => {
        ($keep)($raw)
    };
}
pub(crate) use kept_value;

/// Declare a string field type: a newtype over `String` with a length range and a pattern
/// (and, with `keep = f`, a normal form of the text).
macro_rules! string_field {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $pattern:expr, $ok:expr $(, keep = $keep:expr)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub(crate) struct $name(pub(crate) String);

        impl $crate::protocol::input::Field for $name {
            fn read(
                name: &str,
                raw: &str,
                v: &mut $crate::protocol::params::Validator,
            ) -> $crate::error::ApiResult<Self> {
                v.length(name, raw, $min, $max).pattern(name, raw, $pattern, $ok);
                Ok(Self($crate::protocol::input::kept_value!(raw $(, $keep)?)))
            }
        }

        #[allow(dead_code, reason = "every field type gets the same accessors")]
        impl $name {
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }

            pub(crate) fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_field;

/// Declare a bearer-secret field type (a web identity token, a SAML response): a length range
/// checked without echoing the value, `Debug` that prints nothing of it, wiped on drop.
macro_rules! secret_field {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub(crate) struct $name(pub(crate) $crate::wipe::Wiped<String>);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl $crate::protocol::input::Field for $name {
            fn read(
                name: &str,
                raw: &str,
                v: &mut $crate::protocol::params::Validator,
            ) -> $crate::error::ApiResult<Self> {
                v.sensitive_length(name, raw, $min, $max);
                Ok(Self($crate::wipe::Wiped::new(raw.to_owned())))
            }
        }
    };
}
pub(crate) use secret_field;

string_field!(
    /// Any ARN-typed parameter (`arnType`): 20..2048 characters. An ARN of a known partition is
    /// kept in the `aws` partition, the one entities are stored under, whatever partition the
    /// client wrote it in (answers use the partition of the request's region).
    ArnParam,
    20,
    2048,
    params::ARN_PATTERN,
    params::is_arn_char,
    keep = |raw: &str| Partition::Aws.rewrite(raw).into_owned()
);
string_field!(
    /// `RoleSessionName`: 2..64 of `[\w+=,.@-]*`.
    RoleSessionName,
    2,
    64,
    r"[\w+=,.@-]*",
    params::is_name_char
);
string_field!(
    /// `SourceIdentity`: 2..64 of `[\w+=,.@-]*`; `aws:` is reserved (checked by the input).
    SourceIdentity,
    2,
    64,
    r"[\w+=,.@-]*",
    params::is_name_char
);
string_field!(
    /// `ExternalId`: 2..1224 of `[\w+=,.@:\/-]*`.
    ExternalId,
    2,
    1224,
    r"[\w+=,.@:\/-]*",
    |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c)
);
string_field!(
    /// `SerialNumber` of an MFA device: 9..256 of `[\w+=/:,.@-]*`.
    SerialNumber,
    9,
    256,
    r"[\w+=/:,.@-]*",
    |c: char| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c)
);
string_field!(
    /// A TOTP code: six digits.
    TokenCode,
    6,
    6,
    r"[\d]*",
    |c: char| c.is_ascii_digit()
);
string_field!(
    /// A session policy document as sent: 1..2048 policy characters (the packed budget; parsed
    /// by its input).
    SessionPolicyText,
    1,
    2_048,
    params::POLICY_PATTERN,
    params::is_policy_char
);
string_field!(
    /// A tag key: 1..128 of `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`.
    TagKey,
    1,
    128,
    params::TAG_PATTERN,
    params::is_tag_char
);
string_field!(
    /// A tag value: 0..256 of `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`.
    TagValue,
    0,
    256,
    params::TAG_VALUE_PATTERN,
    params::is_tag_char
);

/// Declare an enum field type: one of a fixed set of wire values.
macro_rules! enum_field {
    ($(#[$meta:meta])* $name:ident { $first:ident $(, $rest:ident)* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name {
            $first,
            $($rest,)*
        }

        impl $crate::protocol::input::Field for $name {
            fn read(
                name: &str,
                raw: &str,
                v: &mut $crate::protocol::params::Validator,
            ) -> $crate::error::ApiResult<Self> {
                const SET: &str = concat!(
                    "Member must satisfy enum value set: [",
                    stringify!($first) $(, ", ", stringify!($rest))*,
                    "]"
                );
                Ok(match raw {
                    stringify!($first) => Self::$first,
                    $(stringify!($rest) => Self::$rest,)*
                    _ => {
                        v.check(name, raw, false, SET);
                        Self::$first
                    }
                })
            }
        }

        impl $name {
            /// The wire value.
            #[allow(dead_code, reason = "not every enum is echoed back")]
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    Self::$first => stringify!($first),
                    $(Self::$rest => stringify!($rest),)*
                }
            }
        }
    };
}
pub(crate) use enum_field;

// --- groups shared by several actions ----------------------------------------------------------

/// `SerialNumber` and `TokenCode`: both or neither (see [`MfaCode::pair`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct MfaCode {
    pub(crate) serial: Option<SerialNumber>,
    pub(crate) code: Option<TokenCode>,
}

impl Input for MfaCode {
    fn read(r: &mut Reader<'_>) -> ApiResult<Self> {
        Ok(Self {
            serial: r.optional("SerialNumber")?,
            code: r.optional("TokenCode")?,
        })
    }
}

impl MfaCode {
    /// The device and code, when both were sent; one without the other is `MissingParameter`.
    /// Actions check this where AWS does (after deciding who may call them at all).
    pub(crate) fn pair(&self) -> ApiResult<Option<(&SerialNumber, &TokenCode)>> {
        match (&self.serial, &self.code) {
            (None, None) => Ok(None),
            (Some(s), Some(c)) => Ok(Some((s, c))),
            (Some(_), None) => Err(ApiError::missing_parameter("TokenCode")),
            (None, Some(_)) => Err(ApiError::missing_parameter("SerialNumber")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    input! {
        struct Example {
            name: RoleSessionName = required("RoleSessionName"),
            seconds: Option<Int<900, 3600>> = optional("DurationSeconds"),
            arns: Vec<ArnParam> = list("PolicyArns", 2),
            mfa: MfaCode = nested(),
        }
    }

    fn read(q: &str) -> ApiResult<Example> {
        parse(&Params::parse(q.as_bytes(), None).unwrap())
    }

    #[test]
    fn reads_typed_fields() {
        let e = read(
            "RoleSessionName=ab&DurationSeconds=900&PolicyArns.member.1=arn:aws:iam::aws:policy/x",
        )
        .unwrap();
        assert_eq!(e.name.as_str(), "ab");
        assert_eq!(e.seconds.map(Int::get), Some(900));
        assert_eq!(e.arns.len(), 1);
        assert!(e.mfa.pair().unwrap().is_none());
    }

    #[test]
    fn missing_and_wrong_type_fail_at_once() {
        let e = read("DurationSeconds=x").unwrap_err();
        assert_eq!(
            e.message,
            "The request must contain the parameter RoleSessionName."
        );
        let e = read("RoleSessionName=a&DurationSeconds=x").unwrap_err();
        assert!(e.message.contains("Member must be a number"), "{e:?}");
        let e = read("RoleSessionName=ab&SerialNumber=123456789")
            .unwrap()
            .mfa
            .pair()
            .unwrap_err();
        assert_eq!(
            e.message,
            "The request must contain the parameter TokenCode."
        );
    }

    #[test]
    fn violations_are_reported_together() {
        let e = read("RoleSessionName=a&DurationSeconds=1").unwrap_err();
        assert_eq!(
            e.message,
            "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '1' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
    }
}
