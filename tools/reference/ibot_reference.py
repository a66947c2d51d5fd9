"""Plain PyTorch reference of iBOT (Zhou et al., ICLR 2022) for validating ibot4j.

It follows the official code (bytedance/ibot: models/vision_transformer.py, models/head.py,
main_ibot.py, utils.py) as described in shared/docs/ibot-spec.md sections 1, 2, 5, 6 and 7,
literally rather than efficiently: the head runs on every token of every crop, the loss loops over
(teacher crop q, student crop v) pairs, clipping is per parameter tensor, and everything is fp32
(no autocast, no gradient scaler). It is meant to be read side by side with the C++ implementation.

Parameter names are the official ones: "backbone.<timm ViT name>", "backbone.masked_embed"
(student only), "head.mlp.{0,2,4}.*", "head.last_layer.weight_{g,v}" and, for an unshared head,
"head.last_layer2.weight_{g,v}".
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class IBOTConfig:
    img_size: int = 224
    patch_size: int = 16
    in_chans: int = 3
    embed_dim: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_path_rate: float = 0.1
    out_dim: int = 8192
    patch_out_dim: int = 8192
    hidden_dim: int = 2048
    bottleneck_dim: int = 256
    shared_head: bool = False
    shared_head_teacher: bool = True
    norm_last_layer: bool = True
    student_temp: float = 0.1
    center_momentum: float = 0.9
    center_momentum2: float = 0.9
    lambda1: float = 1.0
    lambda2: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @property
    def loss_patch_dim(self):
        # main_ibot.py: same_dim = shared_head or shared_head_teacher; the patch centre then has out_dim
        return self.out_dim if (self.shared_head or self.shared_head_teacher) else self.patch_out_dim


# --------------------------------------------------------------------------------------------
# Backbone (spec section 1)
# --------------------------------------------------------------------------------------------

def drop_path(x, drop_prob, training):
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # per sample
    random_tensor = (keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)).floor_()
    return x.div(keep_prob) * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) form
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, return_attention=False):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        if return_attention:  # the official Attention returns (x, attn); Block picks attn
            return attn
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, drop_path_rate):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, return_attention=False):
        if return_attention:
            return self.attn(self.norm1(x), return_attention=True)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)  # default init

    def forward(self, x):
        return self.proj(x)  # kept as a [B, D, H/p, W/p] grid until after masking


class VisionTransformer(nn.Module):
    def __init__(self, cfg: IBOTConfig, drop_path_rate: float, masked_im_modeling: bool):
        super().__init__()
        D = cfg.embed_dim
        self.embed_dim = D
        self.patch_embed = PatchEmbed(cfg.img_size, cfg.patch_size, cfg.in_chans, D)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, D))
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, cfg.depth)]  # rate_i = r*i/(depth-1)
        self.blocks = nn.ModuleList(
            [Block(D, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, dpr[i]) for i in range(cfg.depth)])
        self.norm = nn.LayerNorm(D, eps=1e-6)

        nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-2.0, b=2.0)
        nn.init.trunc_normal_(self.cls_token, std=0.02, a=-2.0, b=2.0)
        self.apply(self._init_weights)

        # created after the init pass, so it stays zero
        self.masked_im_modeling = masked_im_modeling
        if masked_im_modeling:
            self.masked_embed = nn.Parameter(torch.zeros(1, D))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def interpolate_pos_encoding(self, x, w, h):
        # official DINO/iBOT form; note w, h come from `B, nc, w, h = x.shape` (w is really the height)
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_embed.patch_size
        h0 = h // self.patch_embed.patch_size
        w0, h0 = w0 + 0.1, h0 + 0.1  # make floor() land on the right integer
        sqrt_n = math.sqrt(N)
        patch_pos_embed = F.interpolate(
            patch_pos_embed.reshape(1, int(sqrt_n), int(sqrt_n), dim).permute(0, 3, 1, 2),
            scale_factor=(w0 / sqrt_n, h0 / sqrt_n),
            mode="bicubic",
        )
        assert int(w0) == patch_pos_embed.shape[-2] and int(h0) == patch_pos_embed.shape[-1]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def mask_model(self, x, mask):
        # overwrite (not add) the masked cells of the conv output grid with the mask token
        x.permute(0, 2, 3, 1)[mask, :] = self.masked_embed.to(x.dtype)
        return x

    def prepare_tokens(self, x, mask=None):
        B, nc, w, h = x.shape
        x = self.patch_embed(x)
        if mask is not None:
            x = self.mask_model(x, mask)
        x = x.flatten(2).transpose(1, 2)  # [B, N, D], token = row*(W/p)+col
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        return x + self.interpolate_pos_encoding(x, w, h)

    def get_intermediate_layers(self, x, n=1):
        """The official evaluation call: the outputs of the last n blocks, each through the final norm."""
        x = self.prepare_tokens(x)
        output = []
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            if len(self.blocks) - i <= n:
                output.append(self.norm(x))
        return output

    def forward(self, x, mask=None):
        """x: [n, C, H, W]; mask: bool [n, H/p, W/p] or None. Returns all tokens [n, 1+N, D]."""
        if mask is not None:
            assert self.masked_im_modeling, "only the student has a mask token"
            mask = mask.bool()
        x = self.prepare_tokens(x, mask)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def get_last_selfattention(self, x):
        """Official get_last_selfattention: the last block's softmax(q k^T * scale), [n, heads, 1+N, 1+N]."""
        x = self.prepare_tokens(x)
        for blk in self.blocks[:-1]:
            x = blk(x)
        return self.blocks[-1](x, return_attention=True)


# --------------------------------------------------------------------------------------------
# Head (spec section 2)
# --------------------------------------------------------------------------------------------

class WeightNormLinear(nn.Module):
    """nn.utils.weight_norm(nn.Linear(in, out, bias=False)) with g filled with 1: W = g * v / ||v||_row."""

    def __init__(self, in_dim, out_dim, norm_last_layer):
        super().__init__()
        v = nn.Linear(in_dim, out_dim, bias=False).weight.detach().clone()  # default kaiming-uniform init
        self.weight_g = nn.Parameter(torch.ones(out_dim, 1), requires_grad=not norm_last_layer)
        self.weight_v = nn.Parameter(v)

    def forward(self, x):
        return F.linear(x, torch._weight_norm(self.weight_v, self.weight_g, 0))


class iBOTHead(nn.Module):
    def __init__(self, in_dim, out_dim, patch_out_dim, hidden_dim, bottleneck_dim, norm_last_layer,
                 shared_head):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.GELU(),
            nn.Linear(hidden_dim, hidden_dim), nn.GELU(),
            nn.Linear(hidden_dim, bottleneck_dim))
        self.apply(self._init_weights)  # runs before the last layers exist
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim, norm_last_layer)
        if shared_head:
            self.last_layer2 = self.last_layer  # same module: named_parameters lists it once
        else:
            self.last_layer2 = WeightNormLinear(bottleneck_dim, patch_out_dim, norm_last_layer)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        """x: [M, 1+N, D] -> (cls logits [M, K], patch logits [M, N, K']); the MLP sees every token."""
        x = self.mlp(x)
        x = F.normalize(x, dim=-1, p=2)  # eps 1e-12
        return self.last_layer(x[:, 0]), self.last_layer2(x[:, 1:])


class iBOTNet(nn.Module):
    """backbone + head, named like the official MultiCropWrapper (backbone.*, head.*)."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x, mask=None):
        tokens = self.backbone(x, mask)
        return tokens, self.head(tokens)


def build_student(cfg: IBOTConfig, drop_path_rate=None):
    dpr = cfg.drop_path_rate if drop_path_rate is None else drop_path_rate
    backbone = VisionTransformer(cfg, dpr, masked_im_modeling=True)
    head = iBOTHead(cfg.embed_dim, cfg.out_dim, cfg.patch_out_dim, cfg.hidden_dim, cfg.bottleneck_dim,
                    cfg.norm_last_layer, cfg.shared_head)
    return iBOTNet(backbone, head)


def build_teacher(cfg: IBOTConfig, student: iBOTNet):
    backbone = VisionTransformer(cfg, 0.0, masked_im_modeling=False)
    # the official teacher head uses the default norm_last_layer (true); irrelevant, it is never optimised
    head = iBOTHead(cfg.embed_dim, cfg.out_dim, cfg.patch_out_dim, cfg.hidden_dim, cfg.bottleneck_dim,
                    True, cfg.shared_head_teacher)
    teacher = iBOTNet(backbone, head)
    # official: non-strict load of the student's state dict (tolerates masked_embed). NB: with an
    # unshared student head and a shared teacher head, the teacher's state dict also lists its
    # aliased head.last_layer2.*, which is loaded after head.last_layer.*, so the shared teacher
    # layer ends up holding the student's *patch* layer (last_layer2) values.
    teacher.load_state_dict(student.state_dict(), strict=False)
    for p in teacher.parameters():
        p.requires_grad = False
    return teacher


# --------------------------------------------------------------------------------------------
# Loss (spec section 5)
# --------------------------------------------------------------------------------------------

class iBOTLoss(nn.Module):
    def __init__(self, cfg: IBOTConfig, ngcrops, nlcrops):
        super().__init__()
        self.student_temp = cfg.student_temp
        self.center_momentum = cfg.center_momentum
        self.center_momentum2 = cfg.center_momentum2
        self.ngcrops = ngcrops
        self.nlcrops = nlcrops
        self.ncrops = ngcrops + nlcrops
        self.lambda1 = cfg.lambda1
        self.lambda2 = cfg.lambda2
        self.register_buffer("center", torch.zeros(1, cfg.out_dim))
        self.register_buffer("center2", torch.zeros(1, 1, cfg.loss_patch_dim))

    def forward(self, student_output, teacher_output, student_local_cls, student_mask, temp, temp2):
        """student_output = (cls [G*B, K], patch [G*B, N, K']) of the masked global crops;
        teacher_output likewise (unmasked); student_local_cls [L*B, K]; student_mask: list of G bool
        masks [B, h, w] (one per global crop). temp, temp2: this epoch's teacher temperatures."""
        student_cls, student_patch = student_output
        teacher_cls, teacher_patch = teacher_output
        if student_local_cls is not None:
            student_cls = torch.cat([student_cls, student_local_cls])

        student_cls = student_cls / self.student_temp
        student_cls_c = student_cls.chunk(self.ncrops)
        student_patch = student_patch / self.student_temp
        student_patch_c = student_patch.chunk(self.ngcrops)

        teacher_cls_p, teacher_patch_p = self.teacher_targets(teacher_cls, teacher_patch, student_mask, temp, temp2)
        teacher_cls_c = teacher_cls_p.detach().chunk(self.ngcrops)
        teacher_patch_c = teacher_patch_p.detach().chunk(self.ngcrops)

        total_loss1, n_loss_terms1 = 0, 0
        total_loss2, n_loss_terms2 = 0, 0
        for q in range(len(teacher_cls_c)):
            for v in range(len(student_cls_c)):
                if v == q:
                    loss2 = torch.sum(-teacher_patch_c[q] * F.log_softmax(student_patch_c[v], dim=-1), dim=-1)
                    mask = student_mask[v].flatten(-2, -1)
                    loss2 = torch.sum(loss2 * mask.float(), dim=-1) / mask.sum(dim=-1).clamp(min=1.0)
                    total_loss2 += loss2.mean()
                    n_loss_terms2 += 1
                else:
                    loss1 = torch.sum(-teacher_cls_c[q] * F.log_softmax(student_cls_c[v], dim=-1), dim=-1)
                    total_loss1 += loss1.mean()
                    n_loss_terms1 += 1

        total_loss1 = total_loss1 / n_loss_terms1 * self.lambda1
        total_loss2 = total_loss2 / n_loss_terms2 * self.lambda2
        total_loss = dict(cls=total_loss1, patch=total_loss2, loss=total_loss1 + total_loss2)
        self.update_center(teacher_cls, teacher_patch)
        return total_loss

    def teacher_targets(self, teacher_cls, teacher_patch, student_mask, temp, temp2):
        """The teacher's [CLS] [G*B, K] and patch [G*B, N, K'] targets: centred, tempered softmax."""
        return (F.softmax((teacher_cls - self.center) / temp, dim=-1),
                F.softmax((teacher_patch - self.center2) / temp2, dim=-1))

    @torch.no_grad()
    def update_center(self, teacher_cls, teacher_patch):
        # raw (uncentred, untempered) teacher logits; single process, so no all-reduce
        cls_center = torch.sum(teacher_cls, dim=0, keepdim=True)
        cls_center = cls_center / len(teacher_cls)
        self.center = self.center * self.center_momentum + cls_center * (1 - self.center_momentum)

        patch_center = torch.sum(teacher_patch.mean(1), dim=0, keepdim=True)
        patch_center = patch_center / len(teacher_patch)
        self.center2 = self.center2 * self.center_momentum2 + patch_center * (1 - self.center_momentum2)


# --------------------------------------------------------------------------------------------
# Optimisation and EMA (spec sections 6 and 7)
# --------------------------------------------------------------------------------------------

def get_params_groups(model):
    regularized, not_regularized = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.endswith(".bias") or len(param.shape) == 1:
            not_regularized.append(param)
        else:
            regularized.append(param)
    return [{"params": regularized}, {"params": not_regularized, "weight_decay": 0.0}]


def clip_gradients(model, clip):
    """Per parameter tensor. Returns (names, norms before clipping, number of clipped tensors)."""
    names, norms, clipped = [], [], 0
    for name, p in model.named_parameters():
        if p.grad is not None:
            param_norm = p.grad.norm(2)
            names.append(name)
            norms.append(param_norm)
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.mul_(clip_coef)
                clipped += 1
    return names, norms, clipped


def cancel_gradients_last_layer(model):
    for name, p in model.named_parameters():
        if "last_layer" in name:
            p.grad = None


@torch.no_grad()
def ema_update(student, teacher, m):
    s_params = dict(student.named_parameters())
    for name, t in teacher.named_parameters():
        if name in s_params:
            t.mul_(m).add_((1 - m) * s_params[name].detach())


@dataclass
class StepResult:
    loss: torch.Tensor        # [3] = (total, cls, patch)
    grad_norm: float          # sqrt(sum_j norm_j^2) of per-parameter norms before clipping
    clipped: int              # number of parameter tensors that were clipped
    param_norms: dict         # name -> gradient norm before clipping


class IBOTTrainer:
    def __init__(self, cfg: IBOTConfig, student: iBOTNet, teacher: iBOTNet, n_global: int, n_local: int):
        self.cfg = cfg
        self.student = student
        self.teacher = teacher
        self.n_global = n_global
        self.n_local = n_local
        self.loss_fn = iBOTLoss(cfg, n_global, n_local)
        self.optimizer = torch.optim.AdamW(get_params_groups(student), betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)

    def train_step(self, batch, lr, wd, momentum, teacher_temp, teacher_patch_temp, freeze_last_layer,
                   clip_grad):
        """batch = (global crops [G*B,C,H,W], local crops [L*B,C,h,w] or None, masks [G*B,H/p,W/p]),
        all crop-major. freeze_last_layer: bool (epoch < freeze_last_layer epochs)."""
        images_global, images_local, masks = batch
        masks = masks.bool()
        for i, group in enumerate(self.optimizer.param_groups):
            group["lr"] = lr
            if i == 0:
                group["weight_decay"] = wd

        with torch.no_grad():
            _, teacher_output = self.teacher(images_global)
        _, student_output = self.student(images_global, mask=masks)
        student_local_cls = None
        if images_local is not None and self.n_local > 0:
            student_local_cls = self.student(images_local)[1][0]  # masking off for local crops
        all_loss = self.loss_fn(student_output, teacher_output, student_local_cls,
                                list(masks.chunk(self.n_global)), teacher_temp, teacher_patch_temp)
        loss = all_loss["loss"]
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()}, stopping training")

        self.optimizer.zero_grad()
        loss.backward()
        names, norms, clipped = [], [], 0
        if clip_grad:
            names, norms, clipped = clip_gradients(self.student, clip_grad)
        else:
            for name, p in self.student.named_parameters():
                if p.grad is not None:
                    names.append(name)
                    norms.append(p.grad.norm(2))
        if freeze_last_layer:
            cancel_gradients_last_layer(self.student)
        self.optimizer.step()
        ema_update(self.student, self.teacher, momentum)

        grad_norm = torch.stack(norms).pow(2).sum().sqrt().item() if norms else 0.0
        out = torch.stack([loss.detach(), all_loss["cls"].detach(), all_loss["patch"].detach()])
        return StepResult(out, grad_norm, clipped, {n: v.item() for n, v in zip(names, norms)})
