"""Conformance suites for the plug points. Subclass one in your tests and provide its fixture:

class TestMyStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> BaseStorage:
        return MyStorage()
"""

from plgl.testing.cache import CacheConformance
from plgl.testing.generators import GeneratorConformance
from plgl.testing.models import OnlineModelConformance
from plgl.testing.redis_server import RedisServer
from plgl.testing.samplers import SamplerConformance
from plgl.testing.serve import served
from plgl.testing.storage import StorageConformance

__all__ = [
    "CacheConformance",
    "GeneratorConformance",
    "OnlineModelConformance",
    "RedisServer",
    "SamplerConformance",
    "StorageConformance",
    "served",
]
