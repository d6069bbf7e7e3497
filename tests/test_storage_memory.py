import pytest

from plgl.errors import InvalidInputError
from plgl.storage import BaseStorage, MemoryStorage, from_url
from plgl.testing import StorageConformance


class TestMemoryStorage(StorageConformance):
    @pytest.fixture
    def storage(self) -> BaseStorage:
        return from_url("memory://")


def test_none_means_memory() -> None:
    assert isinstance(from_url(None), MemoryStorage)


def test_a_storage_object_is_used_as_it_is() -> None:
    storage = MemoryStorage()
    assert from_url(storage) is storage


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "sqlite", "sqlite://", "sqlite:///", "sqlite://relative.db", "memory://x", 42],
)
def test_unsupported_urls_say_what_is_supported(url: object) -> None:
    with pytest.raises(InvalidInputError, match=r"memory://|URL|sqlite:///"):
        from_url(url)  # type: ignore[arg-type]
