"""Writes geo-test.mmdb: a tiny GeoLite2-City-shaped database for vigie's
tests (two networks, documentation ranges). Regenerate with:
    pip install mmdb-writer netaddr && python3 make_geo_test.py
"""
from mmdb_writer import MMDBWriter, MmdbF64
from netaddr import IPSet

w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City",
               languages=["en"], description={"en": "vigie test data"})
w.insert_network(IPSet(["192.0.2.0/24"]), {
    "country": {"iso_code": "FR"},
    "location": {"latitude": MmdbF64(48.8566), "longitude": MmdbF64(2.3522)},
})
w.insert_network(IPSet(["198.51.100.0/24"]), {
    "country": {"iso_code": "SG"},
    "location": {"latitude": MmdbF64(1.3521), "longitude": MmdbF64(103.8198)},
    "autonomous_system_number": 64500,
})
w.to_db_file("geo-test.mmdb")
