//! Enums stored as text columns and sent as snake_case JSON strings.

/// Declares an enum with one text spelling per variant, used both in the
/// database and in JSON, so the two can never drift apart.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Result<Self, $crate::store::StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::store::invalid(
                        stringify!($name),
                        format!("unknown value '{other}'; expected one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}
