//! GB/T 2260 administrative divisions (province → city → county), from the data file shipped in
//! `data/divisions.tsv` (see its header for source and year).

use crate::rejection;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::LazyLock;

const DATA: &str = include_str!("../data/divisions.tsv");

/// One division: a 6-digit code and its official name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    pub code: &'static str,
    pub name: &'static str,
}

/// The whole table, indexed for cascading selects and validation.
#[derive(Debug)]
pub struct Divisions {
    provinces: Vec<Division>,
    cities: HashMap<&'static str, Vec<Division>>,
    counties: HashMap<&'static str, Vec<Division>>,
}

static DIVISIONS: LazyLock<Divisions> = LazyLock::new(|| Divisions::parse(DATA));

impl Divisions {
    /// The shipped table.
    pub fn get() -> &'static Self {
        &DIVISIONS
    }

    fn parse(data: &'static str) -> Self {
        let mut table = Self { provinces: Vec::new(), cities: HashMap::new(), counties: HashMap::new() };
        for line in data.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut cols = line.split('\t');
            let (Some(level), Some(code), Some(name)) = (cols.next(), cols.next(), cols.next()) else {
                continue;
            };
            let parent = cols.next().unwrap_or("");
            let division = Division { code, name };
            match level {
                "1" => table.provinces.push(division),
                "2" => table.cities.entry(parent).or_default().push(division),
                _ => table.counties.entry(parent).or_default().push(division),
            }
        }
        table
    }

    pub fn provinces(&self) -> &[Division] {
        &self.provinces
    }

    pub fn cities_of(&self, province: &str) -> &[Division] {
        self.cities.get(province).map_or(&[], Vec::as_slice)
    }

    pub fn counties_of(&self, city: &str) -> &[Division] {
        self.counties.get(city).map_or(&[], Vec::as_slice)
    }

    /// The cities of `province` and, when `city` is one of them, its counties: the options of the
    /// second and third select for a partly filled form.
    pub fn choices(&self, province: &str, city: &str) -> (&[Division], &[Division]) {
        let cities = self.cities_of(province);
        let counties = if cities.iter().any(|c| c.code == city) { self.counties_of(city) } else { &[] };
        (cities, counties)
    }

    /// Checks that the three codes form a path in the table. A level is required exactly when the
    /// level above it has children (Taiwan has no cities here; 东莞 has no counties).
    pub fn resolve(&self, province: &str, city: &str, county: &str) -> Result<Region, RegionError> {
        let province = find(&self.provinces, province, RegionError::ProvinceRequired, RegionError::ProvinceUnknown)?;
        let city = pick(self.cities_of(province.code), city, RegionError::CityRequired, RegionError::CityUnknown)?;
        let county = match &city {
            Some(city) => {
                pick(self.counties_of(city.code), county, RegionError::CountyRequired, RegionError::CountyUnknown)?
            }
            None => None,
        };
        Ok(Region { province, city, county })
    }
}

fn find(list: &[Division], code: &str, missing: RegionError, unknown: RegionError) -> Result<Division, RegionError> {
    if code.is_empty() {
        return Err(missing);
    }
    list.iter().find(|d| d.code == code).cloned().ok_or(unknown)
}

fn pick(
    list: &[Division],
    code: &str,
    missing: RegionError,
    unknown: RegionError,
) -> Result<Option<Division>, RegionError> {
    if list.is_empty() { Ok(None) } else { find(list, code, missing, unknown).map(Some) }
}

rejection! {
    pub enum RegionError {
        ProvinceRequired => ("province_required", "请选择省份"),
        ProvinceUnknown => ("province_invalid", "省份不存在，请重新选择"),
        CityRequired => ("city_required", "请选择城市"),
        CityUnknown => ("city_invalid", "城市不属于所选省份，请重新选择"),
        CountyRequired => ("district_required", "请选择区县"),
        CountyUnknown => ("district_invalid", "区县不属于所选城市，请重新选择"),
    }
}

impl RegionError {
    /// The form field the error belongs beside.
    pub fn field(self) -> &'static str {
        match self {
            Self::ProvinceRequired | Self::ProvinceUnknown => "province_code",
            Self::CityRequired | Self::CityUnknown => "city_code",
            Self::CountyRequired | Self::CountyUnknown => "district_code",
        }
    }
}

/// A valid province / city / county path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub province: Division,
    pub city: Option<Division>,
    pub county: Option<Division>,
}

impl Region {
    /// `广东省深圳市南山区`; a municipality is named once (`北京市东城区`).
    pub fn full_name(&self) -> String {
        let mut name = self.province.name.to_owned();
        if let Some(city) = self.city.as_ref().filter(|c| c.code != self.province.code) {
            name.push_str(city.name);
        }
        if let Some(county) = &self.county {
            name.push_str(county.name);
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static Divisions {
        Divisions::get()
    }

    #[test]
    fn all_provincial_level_units_are_present() {
        assert_eq!(table().provinces().len(), 34);
        assert!(table().provinces().iter().all(|p| p.code.len() == 6 && p.code.ends_with("0000")));
    }

    #[test]
    fn every_code_is_six_digits_under_its_province() {
        for p in table().provinces() {
            for c in table().cities_of(p.code) {
                assert_eq!(&c.code[..2], &p.code[..2]);
                for d in table().counties_of(c.code) {
                    assert!(d.code.len() == 6 && d.code.bytes().all(|b| b.is_ascii_digit()));
                    assert_eq!(&d.code[..2], &p.code[..2], "{} under {}", d.name, p.name);
                }
            }
        }
    }

    #[test]
    fn resolves_a_normal_path_and_names_it() {
        let region = table().resolve("440000", "440300", "440305").unwrap();
        assert_eq!(region.full_name(), "广东省深圳市南山区");
    }

    #[test]
    fn municipalities_use_the_province_as_city() {
        let region = table().resolve("110000", "110000", "110101").unwrap();
        assert_eq!(region.full_name(), "北京市东城区");
    }

    #[test]
    fn a_city_without_counties_needs_no_county() {
        let region = table().resolve("440000", "441900", "").unwrap();
        assert_eq!(region.full_name(), "广东省东莞市");
    }

    #[test]
    fn choices_follow_the_selection_and_ignore_a_city_of_another_province() {
        let (cities, counties) = table().choices("440000", "440300");
        assert!(cities.iter().any(|c| c.name == "深圳市") && counties.iter().any(|c| c.name == "南山区"));
        let (_, none) = table().choices("440000", "110000");
        assert!(none.is_empty());
        assert_eq!(table().choices("", ""), (&[][..], &[][..]));
    }

    #[test]
    fn mismatched_levels_are_rejected_with_the_right_field() {
        assert_eq!(table().resolve("", "", "").unwrap_err(), RegionError::ProvinceRequired);
        assert_eq!(table().resolve("990000", "", "").unwrap_err(), RegionError::ProvinceUnknown);
        assert_eq!(table().resolve("440000", "", "").unwrap_err(), RegionError::CityRequired);
        assert_eq!(table().resolve("440000", "110000", "").unwrap_err(), RegionError::CityUnknown);
        assert_eq!(table().resolve("440000", "440300", "").unwrap_err(), RegionError::CountyRequired);
        let err = table().resolve("440000", "440300", "110101").unwrap_err();
        assert_eq!((err, err.field()), (RegionError::CountyUnknown, "district_code"));
    }
}
