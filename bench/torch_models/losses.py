"""Task losses of losses-and-balancing.md §2-4, written from the spec formulas (the parity
reference for Funnel's `taskLosses` and the models' auxiliary losses)."""
import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


def multitask_bce(logits, y):
    """Sum over tasks of the per-task mean BCE-with-logits."""
    return sum(F.binary_cross_entropy_with_logits(logits[:, t], y[:, t])
               for t in range(logits.shape[1]))


def log1mexp(a):
    """log(1 - e^a) for a <= 0 (§2.3): log(-expm1(a)) above -ln 2, log1p(-e^a) below."""
    return torch.where(a > -LN2, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def chained_bce(logits, y):
    """§2.3: mean BCE of y against p = Π σ(z_s), in log space; log(1 - p) clamped at -100."""
    log_p = -sum(F.softplus(-z) for z in logits)
    return -(y * log_p + (1 - y) * torch.clamp(log1mexp(log_p), min=-100.0)).mean()


def ziln_loss(raw, y):
    """§4: zero-inflated lognormal, mean over the batch; raw = [a, mu, s_raw] per row."""
    a, mu, s_raw = raw[:, 0], raw[:, 1], raw[:, 2]
    positive = (y > 0).float()
    sigma = torch.clamp(F.softplus(s_raw), min=math.sqrt(2.0 ** -23))
    safe_y = torch.where(y > 0, y, torch.ones_like(y))
    log_y = torch.log(safe_y)
    reg = positive * (log_y + torch.log(sigma) + 0.5 * math.log(2 * math.pi)
                      + (log_y - mu) ** 2 / (2 * sigma ** 2))
    return (F.binary_cross_entropy_with_logits(a, positive, reduction="none") + reg).mean()


def task_losses(output, y, tasks):
    """One scalar per task (all rows, space mean = batch mean without masks)."""
    losses = []
    for t, ((kind, head), task) in enumerate(zip(output.heads, tasks)):
        target = y[:, t]
        if kind == "logit":
            losses.append(F.binary_cross_entropy_with_logits(head, target))
        elif kind == "chain":
            losses.append(chained_bce(head, target))
        elif kind == "value":
            losses.append(((head - target) ** 2).mean())
        elif kind == "ziln":
            losses.append(ziln_loss(head, target))
        else:
            raise ValueError(f"task {task['name']}: unknown head {kind}")
    return losses


def total_loss(output, y, tasks):
    """Σ_t λ_t L_t + R (the auxiliary loss), as Funnel's TrainingStep."""
    losses = task_losses(output, y, tasks)
    total = sum(task.get("weight", 1.0) * loss for loss, task in zip(losses, tasks))
    return total + output.aux if output.aux is not None else total
