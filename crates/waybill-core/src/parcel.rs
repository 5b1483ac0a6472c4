//! Parcels: what a carrier weighs and measures.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::units::{Length, LengthUnit, Weight};

/// Where the carrier's network sends a parcel: printed on the label and in its 2D code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Routing {
    pub origin_hub: String,
    pub destination_hub: String,
    pub sort_code: String,
    pub route: String,
}

/// A parcel as Waybill keeps it: whole grams and millimetres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Parcel {
    pub weight_g: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions_mm: Option<Dimensions>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dimensions {
    pub length: u64,
    pub width: u64,
    pub height: u64,
}

/// A parcel as the API takes it: a weight and optional dimensions, each with a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParcelInput {
    pub weight: Weight,
    #[serde(default)]
    pub dimensions: Option<DimensionsInput>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DimensionsInput {
    pub length: crate::units::Amount,
    pub width: crate::units::Amount,
    pub height: crate::units::Amount,
    pub unit: LengthUnit,
}

impl ParcelInput {
    /// Converts to grams and millimetres; every problem comes back with a pointer under `prefix`.
    pub fn resolve(&self, prefix: &str) -> Result<Parcel, Vec<FieldError>> {
        let mut errors = Vec::new();
        let weight_g = self.weight.to_grams(&format!("{prefix}/weight")).map_err(|e| errors.push(e)).ok();
        let dimensions_mm = self.dimensions.as_ref().map(|d| {
            let mut side = |name: &str, value| {
                Length { value, unit: d.unit }
                    .to_millimetres(&format!("{prefix}/dimensions/{name}"))
                    .map_err(|mut e| {
                        // The side is a bare number here, not a `{value, unit}` pair.
                        e.pointer = format!("{prefix}/dimensions/{name}");
                        errors.push(e)
                    })
                    .ok()
            };
            (side("length", d.length), side("width", d.width), side("height", d.height))
        });
        match (weight_g, dimensions_mm) {
            (Some(weight_g), None) if errors.is_empty() => Ok(Parcel { weight_g, dimensions_mm: None }),
            (Some(weight_g), Some((Some(length), Some(width), Some(height)))) => {
                Ok(Parcel { weight_g, dimensions_mm: Some(Dimensions { length, width, height }) })
            }
            _ => Err(errors),
        }
    }
}

impl From<Parcel> for ParcelInput {
    fn from(p: Parcel) -> Self {
        ParcelInput {
            weight: Weight::grams(p.weight_g),
            dimensions: p.dimensions_mm.map(|d| DimensionsInput {
                length: Length::millimetres(d.length).value,
                width: Length::millimetres(d.width).value,
                height: Length::millimetres(d.height).value,
                unit: LengthUnit::Mm,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_units_and_points_at_each_bad_side() {
        let p: ParcelInput = serde_json::from_str(
            r#"{"weight":{"value":1.5,"unit":"kg"},"dimensions":{"length":30,"width":20,"height":10.5,"unit":"cm"}}"#,
        )
        .unwrap();
        assert_eq!(
            p.resolve("/parcels/0"),
            Ok(Parcel { weight_g: 1500, dimensions_mm: Some(Dimensions { length: 300, width: 200, height: 105 }) })
        );
        let bad: ParcelInput = serde_json::from_str(
            r#"{"weight":{"value":0,"unit":"kg"},"dimensions":{"length":30,"width":-2,"height":1,"unit":"cm"}}"#,
        )
        .unwrap();
        let pointers: Vec<_> = bad.resolve("/parcels/1").unwrap_err().into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, vec!["/parcels/1/weight/value", "/parcels/1/dimensions/width"]);
    }
}
