"""Connectionist temporal classification (CTC): the loss and its forward
(alpha) probabilities, by a ``scan`` over time frames in log space."""
from __future__ import annotations

import numpy as np

import primitives.numpy as fnp
import primitives.nn as fnn
from primitives.control_flow import scan
from optim.losses._checks import check_rank, check_shapes_equal

__all__ = ["ctc_loss_with_forward_probs", "ctc_loss"]


def _add_to_phi(phi, added):
    """``phi[:, 1:]`` log-added with ``added``; ``phi[:, 0]`` (nothing emitted yet) kept."""
    return fnp.concatenate([phi[:, :1], fnp.logaddexp(phi[:, 1:], added)], axis=-1)


def ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings, *, blank_id=0,
                                log_epsilon=-1e5):
    r"""CTC loss and the log forward probabilities of blank and label states.

    ``logalpha_blank[t, b, n]`` is the log-probability of having emitted the
    first ``n`` labels of sequence ``b`` and being in a blank at frame ``t``;
    ``logalpha_nonblank[t, b, n]`` of being on label ``n + 1`` itself.
    Impossible transitions get ``log_epsilon`` instead of ``-inf``.

    Args:
      logits: ``[B, T, K]`` logits of the ``K`` classes (the blank included).
      logit_paddings: ``[B, T]``, 1.0 where a frame is padding, else 0.0.
      labels: ``[B, N]`` integer labels.
      label_paddings: ``[B, N]``, 1.0 where a label is padding; labels must be
        right-padded (each row zeros then ones).
      blank_id: the class of the blank.
      log_epsilon: the stand-in for ``log(0)``.

    Returns:
      ``(loss, logalpha_blank, logalpha_nonblank)``: ``[B]`` negative
      log-likelihoods and two ``[T, B, N + 1]`` / ``[T, B, N]`` arrays.

    Raises:
      ValueError: wrong ranks, or shapes or batch sizes that disagree.

    Example::

        >>> loss, alpha_blank, alpha_label = ctc_loss_with_forward_probs(
        ...     fnp.zeros((1, 3, 2)), fnp.zeros((1, 3)), fnp.array([[1]]), fnp.zeros((1, 1)))
        >>> loss, alpha_blank.shape, alpha_label.shape  # [0.2877] = -log(6/8), (3, 1, 2), (3, 1, 1)

    References:
      Graves et al., `Connectionist temporal classification: labelling
      unsegmented sequence data with recurrent neural networks
      <https://dl.acm.org/doi/abs/10.1145/1143844.1143891>`_, ICML 2006.
    """
    check_rank(logits, 3)
    check_rank(labels, 2)
    check_shapes_equal(labels, label_paddings)
    if np.shape(logits)[:2] != np.shape(logit_paddings):
        raise ValueError(f"Shape mismatch: got {np.shape(logits)[:2]} and "
                         f"{np.shape(logit_paddings)}.")
    batch, _, num_classes = np.shape(logits)
    labels_batch, max_label_len = np.shape(labels)
    if labels_batch != batch:
        raise ValueError(f"Expected `labels` to have batch size {batch}, got {labels_batch}.")

    logprobs = fnn.log_softmax(logits)
    label_lens = max_label_len - fnp.sum(label_paddings, axis=1).astype(np.int32)
    # repeat[b, n] = 1 when labels[b, n] == labels[b, n + 1]: a blank must separate them
    repeat = fnp.equal(labels[:, :-1], labels[:, 1:]).astype(np.float32)
    repeat = fnp.pad(repeat, ((0, 0), (0, 1)))

    logprobs_phi = fnp.transpose(logprobs[:, :, blank_id:blank_id + 1], (1, 0, 2))  # [T, B, 1]
    one_hot = fnn.one_hot(labels, num_classes=num_classes)  # [B, N, K]
    logprobs_emit = fnp.transpose(fnp.einsum("btk,bnk->btn", logprobs, one_hot),
                                  (1, 0, 2))  # [T, B, N]

    # log(0) everywhere but the start state (blank, nothing emitted)
    logalpha_phi_init = fnp.ones((batch, max_label_len + 1)) * log_epsilon
    logalpha_phi_init = fnp.where(fnp.arange(max_label_len + 1) == 0, 0.0, logalpha_phi_init)
    logalpha_emit_init = fnp.ones((batch, max_label_len)) * log_epsilon

    def step(prev, frame):
        prev_phi, prev_emit = prev
        logprob_emit, logprob_phi, pad = frame
        # emit -> blank epsilon transition, unless the next label repeats
        prev_phi_orig = prev_phi
        prev_phi = _add_to_phi(prev_phi, prev_emit + log_epsilon * repeat)
        # blank -> label and label self-loop
        next_emit = fnp.logaddexp(prev_phi[:, :-1] + logprob_emit, prev_emit + logprob_emit)
        # blank self-loop; label -> blank only when the next label repeats
        next_phi = prev_phi + logprob_phi
        next_phi = _add_to_phi(next_phi, prev_emit + logprob_phi + log_epsilon * (1.0 - repeat))
        # padded frames keep the previous state
        pad = fnp.reshape(pad, (batch, 1))
        next_emit = pad * prev_emit + (1.0 - pad) * next_emit
        next_phi = pad * prev_phi_orig + (1.0 - pad) * next_phi
        return (next_phi, next_emit), (next_phi, next_emit)

    frames = (logprobs_emit, logprobs_phi, fnp.transpose(logit_paddings, (1, 0)))
    _, (logalpha_phi, logalpha_emit) = scan(step, (logalpha_phi_init, logalpha_emit_init), frames)

    # the last frame still takes its final epsilon transition
    logalpha_phi_last = _add_to_phi(logalpha_phi[-1], logalpha_emit[-1])
    logalpha_phi = fnp.concatenate([logalpha_phi[:-1], fnp.expand_dims(logalpha_phi_last, 0)],
                                   axis=0)

    end_state = fnn.one_hot(label_lens, num_classes=max_label_len + 1)  # [B, N + 1]
    per_seq_loss = fnp.negative(fnp.einsum("bn,bn->b", logalpha_phi_last, end_state))
    return per_seq_loss, logalpha_phi, logalpha_emit


def ctc_loss(logits, logit_paddings, labels, label_paddings, *, blank_id=0, log_epsilon=-1e5):
    """CTC loss: the negative log-likelihood of each label sequence.

    See :func:`ctc_loss_with_forward_probs` for the details.

    Args:
      logits: ``[B, T, K]`` logits of the ``K`` classes (the blank included).
      logit_paddings: ``[B, T]``, 1.0 where a frame is padding, else 0.0.
      labels: ``[B, N]`` integer labels.
      label_paddings: ``[B, N]``, 1.0 where a label is padding (right-padded).
      blank_id: the class of the blank.
      log_epsilon: the stand-in for ``log(0)``.

    Returns:
      The ``[B]`` losses.

    Example::

        >>> ctc_loss(fnp.zeros((1, 3, 2)), fnp.zeros((1, 3)), fnp.array([[1]]), fnp.zeros((1, 1)))
        ... # [0.2877]: 6 of the 8 uniform 3-frame paths read "1"

    References:
      Graves et al., `Connectionist temporal classification
      <https://dl.acm.org/doi/abs/10.1145/1143844.1143891>`_, ICML 2006.
    """
    loss, _, _ = ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings,
                                             blank_id=blank_id, log_epsilon=log_epsilon)
    return loss
