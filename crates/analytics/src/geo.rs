//! Distances on the globe, for impossible travel.

/// Great-circle distance in km between two (lat, lon) points in degrees.
pub fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    #[test]
    fn paris_to_new_york() {
        let d = super::km((48.8566, 2.3522), (40.7128, -74.0060));
        assert!((d - 5837.0).abs() < 20.0, "{d}");
    }
}
