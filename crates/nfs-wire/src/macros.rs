//! Declarative helpers shared by the program modules.

/// Declares a `#[repr(u32)]` enum of wire values, with `from_u32`, `ALL` and
/// an `Xdr` impl whose decoder rejects values outside the list.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant with this wire value, if there is one.
            pub fn from_u32(value: u32) -> Option<Self> {
                match value {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
            }

            /// The wire value.
            pub fn as_u32(self) -> u32 {
                self as u32
            }
        }

        impl $crate::Xdr for $name {
            fn encode(&self, w: &mut $crate::XdrWriter) {
                w.u32(*self as u32);
            }

            fn decode(r: &mut $crate::XdrReader) -> Result<Self, $crate::XdrError> {
                let value = r.u32()?;
                Self::from_u32(value).ok_or($crate::XdrError::BadValue { what: $what, value })
            }
        }
    };
}
