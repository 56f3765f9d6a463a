"""The maps app's models are the city's geography, which lives in the core
(`disaster.core.geography`) because reports and alerts below the map pages need it; they
are imported here so that Django finds them under the `maps` label they always had."""

from disaster.core.geography import CityBoundary, District

__all__ = ["CityBoundary", "District"]
