//! Enums stored as text columns and sent as snake_case JSON strings.

/// An enum with one text spelling per variant (see [`text_enum!`](crate::text_enum)).
pub trait TextEnum: Sized + Copy + 'static {
    /// The type's name, for messages.
    const NAME: &'static str;
    /// Every spelling, in declaration order.
    const VALUES: &'static [&'static str];
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Result<Self, UnknownText>;
}

/// A text that is none of an enum's spellings. Where it was read from the
/// database the store reports it as corrupt, never as the caller's mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value '{value}' of {name}; expected one of: {}", .expected.join(", "))]
pub struct UnknownText {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// Declares an enum with one text spelling per variant, used both in the
/// database and in JSON, so the two can never drift apart.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        // Described by hand: the derive cannot see the spellings through the
        // macro, and documented the variants' Rust names instead.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Result<Self, $crate::UnknownText> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::UnknownText {
                        name: stringify!($name),
                        value: other.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl $crate::TextEnum for $name {
            const NAME: &'static str = stringify!($name);
            const VALUES: &'static [&'static str] = &[$($text),+];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn parse(text: &str) -> Result<Self, $crate::UnknownText> {
                $name::parse(text)
            }
        }
    };
}

/// `'a', 'b'` for an SQL `IN (...)` of the spellings the domain chose, so a
/// set-based statement writes and filters exactly what a rule decided.
pub fn sql_list<T: TextEnum>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| format!("'{}'", v.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum! {
        pub enum Colour {
            Red = "red",
            DeepBlue = "deep_blue",
        }
    }

    #[test]
    fn spellings_round_trip_and_unknown_text_is_an_error() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Ok(*c));
        }
        let e = Colour::parse("green").unwrap_err();
        assert_eq!(e.value, "green");
        assert_eq!(e.expected, &["red", "deep_blue"]);
        assert_eq!(
            sql_list([Colour::Red, Colour::DeepBlue]),
            "'red', 'deep_blue'"
        );
        assert_eq!(
            serde_json::to_string(&Colour::DeepBlue).unwrap(),
            "\"deep_blue\"",
            "JSON uses the stored spelling"
        );
    }
}
