"""The business areas, one module each: everything an area plugs into the core.

An area's include declares the area (``config.add_area``) and registers its policy, its
routes and views, its admin navigation, its periodic jobs, its ``/api/me`` section, the
clients and simulators of the systems it talks to and its demo data (see portal.catalogue).
``portal.make_config`` ends with one include line per area: the one list of areas.
"""
