//! `get_weather`: deterministic mock weather, the simplest example of a tool.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Deps, Hints, Reply, Tool, ToolError, ToolSpec};

pub struct GetWeather;

impl Tool for GetWeather {
    const SPEC: ToolSpec = ToolSpec {
        name: "get_weather",
        title: "Get weather",
        description: "Current weather for a city (deterministic mock data: the same city always \
                      gives the same answer). Returns condition, temperature, humidity and wind \
                      with their units.",
        summary: "mock weather for a city",
        hints: Hints::LOCAL,
        iam_actions: &[],
        example: r#"{"city": "Lisbon"}"#,
    };
    type Args = WeatherRequest;
    type Output = WeatherReport;

    fn call(_: &Deps, req: WeatherRequest) -> Result<Reply<WeatherReport>, ToolError> {
        let r = weather_for(&req.city, req.units)?;
        let summary = format!(
            "{}: {}, {}{}, humidity {}%, wind {} {}.",
            r.city,
            r.condition,
            r.temperature,
            r.temperature_unit,
            r.humidity_percent,
            r.wind_speed,
            r.wind_speed_unit
        );
        Ok(Reply::new(summary, r))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Celsius and km/h.
    #[default]
    Metric,
    /// Fahrenheit and mph.
    Imperial,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeatherRequest {
    /// City name, for example "Lisbon" or "New York".
    pub city: String,
    /// Unit system for the answer (default metric).
    #[serde(default)]
    pub units: Units,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WeatherReport {
    pub city: String,
    pub condition: String,
    pub temperature: f64,
    pub temperature_unit: String,
    pub humidity_percent: u8,
    pub wind_speed: f64,
    pub wind_speed_unit: String,
    pub units: Units,
}

const CONDITIONS: [&str; 6] = [
    "sunny",
    "partly cloudy",
    "cloudy",
    "light rain",
    "heavy rain",
    "snow",
];

/// FNV-1a: a stable hash, so the same city gives the same weather in every process.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Deterministic mock weather: the same city (ignoring case and surrounding spaces) always
/// gets the same report.
pub fn weather_for(city: &str, units: Units) -> Result<WeatherReport, String> {
    let city = city.trim();
    if city.is_empty() {
        return Err("`city` must not be empty: give a city name such as \"Lisbon\".".into());
    }
    if city.chars().count() > 100 {
        return Err("`city` is too long (at most 100 characters).".into());
    }
    // Control characters (NUL, terminal escapes) are never part of a place name, and echoed
    // back they could reach a client's terminal.
    if city.chars().any(char::is_control) {
        return Err("`city` must not contain control characters.".into());
    }
    let h = stable_hash(&city.to_lowercase());
    let celsius = f64::from((h % 450) as u32) / 10.0 - 10.0; // -10.0 ..= 34.9
    let wind_kmh = f64::from(((h >> 16) % 600) as u32) / 10.0; // 0.0 ..= 59.9
    let humidity = 20 + ((h >> 32) % 80) as u8;
    let condition = CONDITIONS[((h >> 48) % CONDITIONS.len() as u64) as usize];
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let (temperature, temperature_unit, wind_speed, wind_speed_unit) = match units {
        Units::Metric => (celsius, "°C", wind_kmh, "km/h"),
        Units::Imperial => (
            round1(celsius * 9.0 / 5.0 + 32.0),
            "°F",
            round1(wind_kmh / 1.609_344),
            "mph",
        ),
    };
    Ok(WeatherReport {
        city: city.to_owned(),
        condition: condition.to_owned(),
        temperature,
        temperature_unit: temperature_unit.to_owned(),
        humidity_percent: humidity,
        wind_speed,
        wind_speed_unit: wind_speed_unit.to_owned(),
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weather_is_deterministic_and_case_insensitive() {
        let a = weather_for("Lisbon", Units::Metric).unwrap();
        let b = weather_for("  lisbon ", Units::Metric).unwrap();
        assert_eq!(a.temperature, b.temperature);
        assert_eq!(a.condition, b.condition);
        assert_eq!(a.temperature_unit, "°C");
        assert!((-10.0..35.0).contains(&a.temperature));
        assert!((20..100).contains(&a.humidity_percent));
        assert_ne!(
            (a.temperature, a.condition.clone(), a.humidity_percent),
            {
                let o = weather_for("Oslo", Units::Metric).unwrap();
                (o.temperature, o.condition, o.humidity_percent)
            },
            "different cities should differ"
        );
    }

    #[test]
    fn imperial_weather_converts_units() {
        let m = weather_for("Paris", Units::Metric).unwrap();
        let i = weather_for("Paris", Units::Imperial).unwrap();
        assert_eq!(i.temperature_unit, "°F");
        assert_eq!(i.wind_speed_unit, "mph");
        assert!((i.temperature - (m.temperature * 1.8 + 32.0)).abs() < 0.06);
    }

    #[test]
    fn weather_rejects_empty_and_huge_city_names() {
        assert!(
            weather_for("  ", Units::Metric)
                .unwrap_err()
                .contains("must not be empty")
        );
        assert!(weather_for(&"x".repeat(101), Units::Metric).is_err());
    }
}
