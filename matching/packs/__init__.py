"""Built-in name packs: generated data files (see `build_country_pack.py`), read by `matching.namepacks`."""
