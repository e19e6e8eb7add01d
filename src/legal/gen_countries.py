#!/usr/bin/env python3
"""Regenerates countries.cc's table from Debian's iso-codes package (apt-get install iso-codes).
Usage: python3 src/legal/gen_countries.py > /tmp/table.txt  (paste into kCountries)."""
import json

data = json.load(open('/usr/share/iso-codes/json/iso_3166-1.json'))['3166-1']
for c in sorted(data, key=lambda c: c['alpha_2']):
    name = c.get('common_name', c['name']).replace('"', '\\"')
    print('    {"%s", "%s"},' % (c['alpha_2'], name))
