"""State names optax exports for transformations whose state is empty or
shared: ``AddDecayedWeightsState``, ``ScaleState``, ``ScaleByTrustRatioState``
(all :class:`EmptyState`) and ``MultiTransformState`` (= :class:`PartitionState`)."""
from optim.base import EmptyState
from optim.combine import PartitionState

__all__ = ["AddDecayedWeightsState", "ScaleState", "ScaleByTrustRatioState",
           "MultiTransformState"]

AddDecayedWeightsState = EmptyState
ScaleState = EmptyState
ScaleByTrustRatioState = EmptyState
MultiTransformState = PartitionState
