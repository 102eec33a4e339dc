"""EGE-UNet reference (Ruan et al., "EGE-UNet: an Efficient Group Enhanced UNet for skin lesion
segmentation", MICCAI 2023) for Frugal's issue 13: fixture checks, ONNX baselines, network fixture.

Python is only used to make fixtures and baselines; no Frugal test runs it. Written from the paper and
checked against the arithmetic of the authors' models/egeunet.py (JCruan519/EGE-UNet): same layers,
same order, same state_dict key names, except that the four GAB branches are a ModuleList `g`
(keys g.{k}.0 / g.{k}.1) rather than the authors' attributes g0..g3.

Modules (all NCHW):
  LayerNorm(c)    channels_first LN over dim 1, eps 1e-6, biased variance: w * (x-u)/sqrt(var+eps) + b.
  GHPA(din, dout) Grouped multi-axis Hadamard Product Attention. x = norm1(x); split into 4 groups of
                  c = din/4 channels. Three learned maps params_xy [1,c,8,8], params_zx [1,1,c,8],
                  params_zy [1,1,c,8] are resized (bilinear, align_corners=True) to (H,W), (c,H), (c,W)
                  and passed through a depthwise-3 conv, exact GELU and a 1x1 conv (conv_xy: Conv2d;
                  conv_zx, conv_zy: Conv1d over c channels with length H resp. W), giving
                  m_xy[c,h,w], m_zx[c,h], m_zy[c,w]; group 1 *= m_xy, group 2 *= m_zx (broadcast over
                  w), group 3 *= m_zy (broadcast over h), group 4 = dw(x4) (1x1 conv, GELU, dw 3x3).
                  Concatenate, norm2, ldw = dw 3x3, GELU, 1x1 conv din->dout.
  GAB(dxh, dxl)   Group Aggregation Bridge. xh = pre_project(xh) (1x1, dxh->dxl), bilinear
                  align_corners resize to xl's (H,W); both split in 4 groups; group k is
                  cat(xh_k, xl_k, mask) (dxl/2+1 channels) -> LN -> dw 3x3 with dilation
                  (1,2,5,7)[k], padding = dilation; cat of the 4 -> tail_conv (LN, 1x1 -> dxl).
                  mask is the decoder's gt_conv output before the sigmoid.
  EGEUNet         encoder1..3 3x3 convs, encoder4..6 GHPA; ebn1..5 / dbn1..5 GroupNorm(4, c) (eps 1e-5);
                  max-pool 2 after ebn1..5, GELU everywhere the authors have it; decoder1..3 GHPA,
                  decoder4..5 3x3 convs; GAB5..GAB1 bridges fed by gt_conv1..5 (1x1 -> 1 channel);
                  bilinear align_corners x2 upsampling; final 1x1 conv, x2 upsampling.
                  forward(x) returns ((ds1, ds2, ds3, ds4, ds5), mask) where
                    ds1 = sigmoid(up32(gt_conv1(out5)))  (from H/32, coarsest)
                    ds2 = sigmoid(up16(gt_conv2(out4)))  (from H/16)
                    ds3 = sigmoid(up8 (gt_conv3(out3)))  (from H/8)
                    ds4 = sigmoid(up4 (gt_conv4(out2)))  (from H/4)
                    ds5 = sigmoid(up2 (gt_conv5(out1)))  (from H/2, finest)
                    mask = sigmoid(up2(final(out1)))
                  (the authors' gt_pre5..gt_pre1 order). EGEUNet() with the default channels
                  [8,16,24,32,48,64] has 53,374 trainable parameters (all of them: convs, GHPA maps,
                  LN and GroupNorm affines, GAB, gt_conv and final; no buffers).

Run with Debian's Python (apt-get install python3-torch python3-onnx), from the repository root:

  /usr/bin/python3 scripts/reference/egeunet.py --check-fixtures [--fixtures /work/shared/fixtures]
      Loads ghpa.json and gab.json (float64 cases: inputs, params, y, dy, d_inputs, d_params),
      runs forward and backward here and prints the max abs errors (all should be < 1e-9).
  /usr/bin/python3 scripts/reference/egeunet.py --count
      Prints the parameter count of EGEUNet() per top-level module.
  /usr/bin/python3 scripts/reference/egeunet.py --export bench/onnx
      Writes ONNX (opset 17, fp32, static shapes, eval mode, no constant folding, so the GHPA
      parameter maps are resized and convolved inside the graph as PyTorch does at run time) and the
      exported module's fp32 weights as <name>.safetensors (PyTorch state_dict keys) next to each:
        ghpa_32_48_b8_32x32   GHPA(32,48), input x [8,32,32,32]                  -> y
        ghpa_24_32_b8_64x64   GHPA(24,32), input x [8,24,64,64]                  -> y
        gab_48_32_b8_32x32    GAB(48,32), inputs xh [8,48,16,16], xl [8,32,32,32], mask [8,1,32,32] -> y
        egeunet_b1_256        EGEUNet(), input x [1,3,256,256] -> ds1..ds5, mask (each [1,1,256,256])
        egeunet_b8_256        EGEUNet(), input x [8,3,256,256] -> ds1..ds5, mask
      Weights: torch.manual_seed(0), then the module's default init (PyTorch default for GHPA/GAB,
      the authors' _init_weights for EGEUNet), then every params_* map set to 1 + 0.1*randn.
      Each file is checked with onnx.checker (and against PyTorch if Python onnxruntime is installed).
      Note: the graph computes the maps from the params_* initializers, but onnxruntime's default
      graph optimization constant-folds that whole subgraph at session creation (no Resize of a
      parameter is left in its optimized GHPA graph), so ORT's timed run does not include the maps.
      Run the exported graphs in onnxruntime-node with `node scripts/reference/onnx_check.mjs`
      (prints median times); `node scripts/reference/onnx_check.mjs --runs 3 --dump /tmp/ortdump` then
      `/usr/bin/python3 scripts/reference/egeunet.py --verify-dump /tmp/ortdump` compares ORT's outputs
      with PyTorch float64 on the same inputs and the saved weights (fails above 1e-5 for GHPA/GAB,
      5e-3 for EGEUNet, whose authors'-init weights give logits up to ~45 and ~40% saturated
      sigmoids, so fp32 rounding grows through the net: ORT ~6e-4, PyTorch fp32 ~7e-5 on the mask).
  /usr/bin/python3 scripts/reference/egeunet.py --network-fixture test/fixtures/egeunet_small.safetensors
      Writes the network fixture (float64 compute, float32 storage), tensors:
        <state_dict key>   every EGEUNet() parameter (default channels). Seeded with
                           torch.manual_seed(1234): PyTorch default conv init (so activations stay
                           moderate), params_* = 1 + 0.1*randn, LN / GroupNorm weight = 1 + 0.1*randn,
                           bias = 0.1*randn. The values are float32-exact (initialised in float32,
                           then run in float64), so the tensors here are exactly the weights used.
                           Mask values lie in [0.32, 0.65]: no saturated sigmoids.
                           At 64x64, encoder6/decoder1/decoder2 run at 2x2 and encoder5/decoder3 at
                           4x4, so their align_corners map resizes (8 -> 2, 8 -> 4) read only some
                           params_* entries; the other entries get zero gradient.
        input.x    [1,3,64,64]  randn
        output.mask [1,1,64,64] sigmoid(out0), the final mask
        output.ds1..ds5 [1,1,64,64] the deep-supervision sigmoids in the order above (ds1 coarsest,
                           from gt_conv1 at H/32; ds5 finest, from gt_conv5 at H/2)
        input.dmask [1,1,64,64] randn
        grad.x      [1,3,64,64] dL/dx for L = sum(dmask * mask) (only the final mask)
        grad.<key>  dL/d(parameter) for every state_dict key (same shapes)
      The safetensors __metadata__ holds a short description of the same.

Safetensors are written by a small writer here (8-byte little-endian header length, JSON header with
dtype/shape/data_offsets, raw little-endian data), so the `safetensors` package is not needed.
"""
import argparse
import json
import math
import os
import struct
import sys

os.environ.setdefault('OMP_NUM_THREADS', '2')

import torch
from torch import nn
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))


# ----------------------------------------------------------------------------------------------
# Modules

class LayerNorm(nn.Module):
    """Layer norm over the channel dim of an NCHW (or NC...) tensor, eps 1e-6."""

    def __init__(self, num_channels, eps=1e-6, data_format='channels_first'):
        super().__init__()
        if data_format not in ('channels_first', 'channels_last'):
            raise ValueError(data_format)
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps
        self.data_format = data_format

    def forward(self, x):
        if self.data_format == 'channels_last':
            return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        mean = x.mean(dim=1, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dim=1, keepdim=True)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return self.weight.view(shape) * (centered / torch.sqrt(var + self.eps)) + self.bias.view(shape)


def _resize(t, size):
    return F.interpolate(t, size=size, mode='bilinear', align_corners=True)


class GHPA(nn.Module):
    """Grouped multi-axis Hadamard Product Attention (the authors'
    Grouped_multi_axis_Hadamard_Product_Attention), key names as theirs."""

    def __init__(self, dim_in, dim_out, x=8, y=8):
        super().__init__()
        c = dim_in // 4
        self.params_xy = nn.Parameter(torch.ones(1, c, x, y))
        self.conv_xy = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv2d(c, c, 1))
        self.params_zx = nn.Parameter(torch.ones(1, 1, c, x))
        self.conv_zx = nn.Sequential(nn.Conv1d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv1d(c, c, 1))
        self.params_zy = nn.Parameter(torch.ones(1, 1, c, y))
        self.conv_zy = nn.Sequential(nn.Conv1d(c, c, 3, padding=1, groups=c), nn.GELU(), nn.Conv1d(c, c, 1))
        self.dw = nn.Sequential(nn.Conv2d(c, c, 1), nn.GELU(), nn.Conv2d(c, c, 3, padding=1, groups=c))
        self.norm1 = LayerNorm(dim_in)
        self.norm2 = LayerNorm(dim_in)
        self.ldw = nn.Sequential(nn.Conv2d(dim_in, dim_in, 3, padding=1, groups=dim_in), nn.GELU(),
                                 nn.Conv2d(dim_in, dim_out, 1))

    def maps(self, H, W):
        """The three attention maps at resolution (H, W): m_xy [1,c,H,W], m_zx [c,H], m_zy [c,W]."""
        c = self.params_xy.shape[1]
        m_xy = self.conv_xy(_resize(self.params_xy, (H, W)))
        # [1,1,c,8] -> [1,1,c,H] (identity along c) -> Conv1d input [1, c, H]
        m_zx = self.conv_zx(_resize(self.params_zx, (c, H))[0])[0]
        m_zy = self.conv_zy(_resize(self.params_zy, (c, W))[0])[0]
        return m_xy, m_zx, m_zy

    def forward(self, x):
        x = self.norm1(x)
        x1, x2, x3, x4 = torch.chunk(x, 4, dim=1)
        H, W = x.shape[2], x.shape[3]
        m_xy, m_zx, m_zy = self.maps(H, W)
        c = m_zx.shape[0]
        x1 = x1 * m_xy
        x2 = x2 * m_zx.view(1, c, H, 1)
        x3 = x3 * m_zy.view(1, c, 1, W)
        x4 = self.dw(x4)
        x = self.norm2(torch.cat([x1, x2, x3, x4], dim=1))
        return self.ldw(x)


class GAB(nn.Module):
    """Group Aggregation Bridge (the authors' group_aggregation_bridge), branches in ModuleList g."""

    def __init__(self, dim_xh, dim_xl, k_size=3, d_list=(1, 2, 5, 7)):
        super().__init__()
        self.pre_project = nn.Conv2d(dim_xh, dim_xl, 1)
        gc = dim_xl // 2 + 1
        self.g = nn.ModuleList([
            nn.Sequential(LayerNorm(gc),
                          nn.Conv2d(gc, gc, k_size, padding=(k_size + (k_size - 1) * (d - 1)) // 2,
                                    dilation=d, groups=gc))
            for d in d_list])
        self.tail_conv = nn.Sequential(LayerNorm(dim_xl * 2 + 4), nn.Conv2d(dim_xl * 2 + 4, dim_xl, 1))

    def forward(self, xh, xl, mask):
        xh = _resize(self.pre_project(xh), (xl.shape[2], xl.shape[3]))
        xh = torch.chunk(xh, 4, dim=1)
        xl = torch.chunk(xl, 4, dim=1)
        outs = [g(torch.cat((xh[k], xl[k], mask), dim=1)) for k, g in enumerate(self.g)]
        return self.tail_conv(torch.cat(outs, dim=1))


def _up(x, s):
    return F.interpolate(x, scale_factor=s, mode='bilinear', align_corners=True)


class EGEUNet(nn.Module):
    def __init__(self, num_classes=1, input_channels=3, c_list=(8, 16, 24, 32, 48, 64), bridge=True,
                 gt_ds=True, authors_init=True):
        super().__init__()
        if not gt_ds:
            raise NotImplementedError('the GAB as published needs the gt_ds mask; gt_ds=False is not modelled')
        c = list(c_list)
        self.bridge = bridge
        self.gt_ds = gt_ds
        conv3 = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, stride=1, padding=1))
        self.encoder1 = conv3(input_channels, c[0])
        self.encoder2 = conv3(c[0], c[1])
        self.encoder3 = conv3(c[1], c[2])
        self.encoder4 = nn.Sequential(GHPA(c[2], c[3]))
        self.encoder5 = nn.Sequential(GHPA(c[3], c[4]))
        self.encoder6 = nn.Sequential(GHPA(c[4], c[5]))
        if bridge:
            self.GAB1 = GAB(c[1], c[0])
            self.GAB2 = GAB(c[2], c[1])
            self.GAB3 = GAB(c[3], c[2])
            self.GAB4 = GAB(c[4], c[3])
            self.GAB5 = GAB(c[5], c[4])
        self.gt_conv1 = nn.Sequential(nn.Conv2d(c[4], 1, 1))
        self.gt_conv2 = nn.Sequential(nn.Conv2d(c[3], 1, 1))
        self.gt_conv3 = nn.Sequential(nn.Conv2d(c[2], 1, 1))
        self.gt_conv4 = nn.Sequential(nn.Conv2d(c[1], 1, 1))
        self.gt_conv5 = nn.Sequential(nn.Conv2d(c[0], 1, 1))
        self.decoder1 = nn.Sequential(GHPA(c[5], c[4]))
        self.decoder2 = nn.Sequential(GHPA(c[4], c[3]))
        self.decoder3 = nn.Sequential(GHPA(c[3], c[2]))
        self.decoder4 = conv3(c[2], c[1])
        self.decoder5 = conv3(c[1], c[0])
        for i, ch in enumerate(c[:5]):
            setattr(self, 'ebn%d' % (i + 1), nn.GroupNorm(4, ch))
        for i, ch in enumerate(reversed(c[:5])):
            setattr(self, 'dbn%d' % (i + 1), nn.GroupNorm(4, ch))
        self.final = nn.Conv2d(c[0], num_classes, kernel_size=1)
        if authors_init:
            self.apply(_authors_init)

    def forward(self, x):
        g = F.gelu
        t1 = g(F.max_pool2d(self.ebn1(self.encoder1(x)), 2, 2))    # c0, H/2
        t2 = g(F.max_pool2d(self.ebn2(self.encoder2(t1)), 2, 2))   # c1, H/4
        t3 = g(F.max_pool2d(self.ebn3(self.encoder3(t2)), 2, 2))   # c2, H/8
        t4 = g(F.max_pool2d(self.ebn4(self.encoder4(t3)), 2, 2))   # c3, H/16
        t5 = g(F.max_pool2d(self.ebn5(self.encoder5(t4)), 2, 2))   # c4, H/32
        t6 = g(self.encoder6(t5))                                  # c5, H/32

        out5 = g(self.dbn1(self.decoder1(t6)))                     # c4, H/32
        p5 = self.gt_conv1(out5)
        if self.bridge:
            t5 = self.GAB5(t6, t5, p5)
        out5 = out5 + t5

        out4 = g(_up(self.dbn2(self.decoder2(out5)), 2))           # c3, H/16
        p4 = self.gt_conv2(out4)
        if self.bridge:
            t4 = self.GAB4(t5, t4, p4)
        out4 = out4 + t4

        out3 = g(_up(self.dbn3(self.decoder3(out4)), 2))           # c2, H/8
        p3 = self.gt_conv3(out3)
        if self.bridge:
            t3 = self.GAB3(t4, t3, p3)
        out3 = out3 + t3

        out2 = g(_up(self.dbn4(self.decoder4(out3)), 2))           # c1, H/4
        p2 = self.gt_conv4(out2)
        if self.bridge:
            t2 = self.GAB2(t3, t2, p2)
        out2 = out2 + t2

        out1 = g(_up(self.dbn5(self.decoder5(out2)), 2))           # c0, H/2
        p1 = self.gt_conv5(out1)
        if self.bridge:
            t1 = self.GAB1(t2, t1, p1)
        out1 = out1 + t1

        out0 = _up(self.final(out1), 2)
        ds = (torch.sigmoid(_up(p5, 32)), torch.sigmoid(_up(p4, 16)), torch.sigmoid(_up(p3, 8)),
              torch.sigmoid(_up(p2, 4)), torch.sigmoid(_up(p1, 2)))
        return ds, torch.sigmoid(out0)


def _authors_init(m):
    # The authors' EGEUNet._init_weights: N(0, 2/fan_out) conv weights, Conv2d biases zeroed
    # (Conv1d biases keep PyTorch's default init).
    if isinstance(m, nn.Conv1d):
        m.weight.data.normal_(0, math.sqrt(2.0 / (m.kernel_size[0] * m.out_channels)))
    elif isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
        if m.bias is not None:
            m.bias.data.zero_()


def randomize_maps(module, scale=0.1):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.split('.')[-1].startswith('params_'):
                p.copy_(1 + scale * torch.randn_like(p))


def randomize_norms(module, scale=0.1):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (LayerNorm, nn.GroupNorm)):
                m.weight.copy_(1 + scale * torch.randn_like(m.weight))
                m.bias.copy_(scale * torch.randn_like(m.bias))


# ----------------------------------------------------------------------------------------------
# safetensors (hand-written)

def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered dict name -> torch tensor (stored as little-endian float32)."""
    header = {}
    blobs = []
    off = 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().cpu()
        b = a.numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    import numpy as np
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        assert v['dtype'] == 'F32'
        s, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[base + s:base + e], dtype='<f4').copy()).reshape(v['shape'])
    return out, header.get('__metadata__', {})


# ----------------------------------------------------------------------------------------------
# fixture check

def _t(obj):
    if isinstance(obj, dict) and 'data' in obj:
        return torch.tensor(obj['data'], dtype=torch.float64).reshape(obj['shape'])
    raise TypeError(type(obj))


def check_fixtures(fixdir):
    worst = 0.0
    for fname, make in (('ghpa.json', lambda c: GHPA(c['dim_in'], c['dim_out'])),
                        ('gab.json', lambda c: GAB(c['dim_xh'], c['dim_xl']))):
        d = json.load(open(os.path.join(fixdir, fname)))
        for ci, case in enumerate(d['cases']):
            m = make(case).double()
            sd = m.state_dict()
            params = {k: _t(v) for k, v in case['params'].items()}
            assert set(params) == set(sd), (set(params) ^ set(sd))
            for k in sd:
                assert tuple(params[k].shape) == tuple(sd[k].shape), (k, params[k].shape, sd[k].shape)
            m.load_state_dict(params)
            inputs = [_t(x).requires_grad_(True) for x in case['inputs']]
            y = m(*inputs)
            y_ref = _t(case['y'])
            e_y = (y - y_ref).abs().max().item()
            dy = torch.tensor(case['dy'], dtype=torch.float64).reshape(y.shape)
            m.zero_grad()
            y.backward(dy)
            e_in = max((inp.grad.flatten() - torch.tensor(r, dtype=torch.float64)).abs().max().item()
                       for inp, r in zip(inputs, case['d_inputs']))
            named = dict(m.named_parameters())
            e_p, e_pk = 0.0, None
            for k, r in case['d_params'].items():
                e = (named[k].grad.flatten() - torch.tensor(r, dtype=torch.float64)).abs().max().item()
                if e >= e_p:
                    e_p, e_pk = e, k
            assert set(case['d_params']) == set(named)
            shape = 'x'.join(str(s) for s in inputs[-1].shape)
            print('%-9s case %d (%s, %s): max abs err: y %.3e  d_inputs %.3e  d_params %.3e (%s)'
                  % (fname, ci, json.dumps({k: v for k, v in case.items() if k.startswith('dim')}), shape,
                     e_y, e_in, e_p, e_pk))
            worst = max(worst, e_y, e_in, e_p)
    print('worst max abs error: %.3e -> %s' % (worst, 'OK' if worst < 1e-9 else 'FAIL'))
    return worst < 1e-9


# ----------------------------------------------------------------------------------------------
# parameter count

def count(model=None):
    model = model or EGEUNet()
    total = sum(p.numel() for p in model.parameters())
    by = {}
    for name, p in model.named_parameters():
        top = name.split('.')[0]
        by[top] = by.get(top, 0) + p.numel()
    return total, by


# ----------------------------------------------------------------------------------------------
# ONNX export

class _DSWrapper(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        ds, mask = self.net(x)
        return ds[0], ds[1], ds[2], ds[3], ds[4], mask


def _export_specs():
    return [
        ('ghpa_32_48_b8_32x32', lambda: GHPA(32, 48), [('x', (8, 32, 32, 32))], ['y']),
        ('ghpa_24_32_b8_64x64', lambda: GHPA(24, 32), [('x', (8, 24, 64, 64))], ['y']),
        ('gab_48_32_b8_32x32', lambda: GAB(48, 32),
         [('xh', (8, 48, 16, 16)), ('xl', (8, 32, 32, 32)), ('mask', (8, 1, 32, 32))], ['y']),
        ('egeunet_b1_256', lambda: EGEUNet(), [('x', (1, 3, 256, 256))],
         ['ds1', 'ds2', 'ds3', 'ds4', 'ds5', 'mask']),
        ('egeunet_b8_256', lambda: EGEUNet(), [('x', (8, 3, 256, 256))],
         ['ds1', 'ds2', 'ds3', 'ds4', 'ds5', 'mask']),
    ]


def _export_module(make):
    torch.manual_seed(0)
    m = make()
    randomize_maps(m)
    return m.eval()


def export(outdir):
    import onnx
    os.makedirs(outdir, exist_ok=True)
    specs = _export_specs()
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    for name, make, inputs, outputs in specs:
        m = _export_module(make)
        torch.manual_seed(1)
        args = tuple(torch.randn(*s) for _, s in inputs)
        mod = _DSWrapper(m) if isinstance(m, EGEUNet) else m
        path = os.path.join(outdir, name + '.onnx')
        with torch.no_grad():
            torch.onnx.export(mod, args, path, opset_version=17, input_names=[n for n, _ in inputs],
                              output_names=outputs, do_constant_folding=False,
                              training=torch.onnx.TrainingMode.EVAL)
        model = onnx.load(path)
        onnx.checker.check_model(model)
        ops = {}
        for node in model.graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        write_safetensors(os.path.join(outdir, name + '.safetensors'), m.state_dict(),
                          {'module': type(m).__name__, 'inputs': json.dumps(inputs), 'outputs': json.dumps(outputs)})
        nparam = sum(p.numel() for p in m.parameters())
        msg = '%s: %d params, %d nodes, %d bytes, Resize x%d' % (
            name, nparam, len(model.graph.node), os.path.getsize(path), ops.get('Resize', 0))
        if ort is not None:
            sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
            got = sess.run(None, {n: a.numpy() for (n, _), a in zip(inputs, args)})
            with torch.no_grad():
                ref = mod(*args)
            ref = ref if isinstance(ref, tuple) else (ref,)
            msg += ', ort max err %.2e' % max(float(abs(g - r.numpy()).max()) for g, r in zip(got, ref))
        print(msg)


def verify_dump(dumpdir, weights_dir):
    """Compares onnxruntime-node outputs (onnx_check.mjs --dump) with PyTorch float64 on the same
    inputs and the weights from <weights_dir>/<name>.safetensors."""
    import numpy as np
    ok = True
    for name, make, inputs, outputs in _export_specs():
        meta_path = os.path.join(dumpdir, name + '.json')
        if not os.path.exists(meta_path):
            continue
        meta = json.load(open(meta_path))
        m = make()
        sd, _ = read_safetensors(os.path.join(weights_dir, name + '.safetensors'))
        m.load_state_dict(sd)
        m = m.double().eval()
        mod = _DSWrapper(m) if isinstance(m, EGEUNet) else m
        load = lambda k, shape: torch.from_numpy(
            np.fromfile(os.path.join(dumpdir, '%s.%s.f32' % (name, k)), dtype='<f4')).reshape(shape)
        args = [load(k, meta['inputs'][k]).double() for k, _ in inputs]
        with torch.no_grad():
            ref = mod(*args)
        ref = ref if isinstance(ref, tuple) else (ref,)
        errs = []
        for k, r in zip(outputs, ref):
            got = load(k, meta['outputs'][k]).double()
            errs.append((got - r).abs().max().item())
        tol = 5e-3 if isinstance(m, EGEUNet) else 1e-5
        ok = ok and max(errs) < tol
        print('%s: onnxruntime-node fp32 vs PyTorch fp64 max abs err %s (tol %g)' % (
            name, ' '.join('%s %.2e' % (k, e) for k, e in zip(outputs, errs)), tol))
    return ok


# ----------------------------------------------------------------------------------------------
# network fixture

def network_fixture(path, size=64):
    torch.manual_seed(1234)
    net = EGEUNet(authors_init=False)
    randomize_maps(net)
    randomize_norms(net)
    net = net.double()
    keys = list(net.state_dict().keys())
    x = torch.randn(1, 3, size, size, dtype=torch.float64)
    dmask = torch.randn(1, 1, size, size, dtype=torch.float64)
    xg = x.clone().requires_grad_(True)
    ds, mask = net(xg)
    (dmask * mask).sum().backward()
    named = dict(net.named_parameters())
    tensors = {}
    for k in keys:
        tensors[k] = named[k].detach()
    tensors['input.x'] = x
    tensors['input.dmask'] = dmask
    tensors['output.mask'] = mask.detach()
    for i, d in enumerate(ds):
        tensors['output.ds%d' % (i + 1)] = d.detach()
    tensors['grad.x'] = xg.grad
    for k in keys:
        tensors['grad.' + k] = named[k].grad
    meta = {
        'about': 'EGE-UNet (default channels 8,16,24,32,48,64, bridge, gt_ds) forward/backward in float64, '
                 'stored as float32; see scripts/reference/egeunet.py',
        'output.ds': 'ds1=sigmoid(up32(gt_conv1(out5))) coarsest .. ds5=sigmoid(up2(gt_conv5(out1))) finest',
        'loss': 'L = sum(input.dmask * output.mask); grad.x = dL/dx, grad.<key> = dL/d<key>',
        'seed': 'torch.manual_seed(1234); PyTorch default conv init; params_* 1+0.1randn; LN/GN w 1+0.1randn, b 0.1randn',
    }
    write_safetensors(path, tensors, meta)
    m = mask.detach()
    print('wrote %s (%d bytes, %d tensors, %d parameters)' % (path, os.path.getsize(path), len(tensors),
                                                             sum(p.numel() for p in net.parameters())))
    print('mask range [%.4f, %.4f] mean %.4f; ds mins/maxs %s' % (
        m.min().item(), m.max().item(), m.mean().item(),
        ' '.join('%.3f/%.3f' % (d.min().item(), d.max().item()) for d in ds)))
    print('|grad.x| max %.3e; grad max per param (min over keys) %.3e' % (
        xg.grad.abs().max().item(), min(named[k].grad.abs().max().item() for k in keys)))
    # read back
    back, _ = read_safetensors(path)
    assert all(torch.equal(back[k], tensors[k].float()) for k in tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check-fixtures', action='store_true')
    ap.add_argument('--fixtures', default='/work/shared/fixtures')
    ap.add_argument('--count', action='store_true')
    ap.add_argument('--export', metavar='DIR')
    ap.add_argument('--network-fixture', metavar='PATH')
    ap.add_argument('--verify-dump', metavar='DIR', help='compare onnx_check.mjs --dump output with PyTorch')
    ap.add_argument('--weights', default='bench/onnx', help='with --verify-dump: where the .safetensors are')
    a = ap.parse_args()
    ok = True
    if a.count or not (a.check_fixtures or a.export or a.network_fixture or a.verify_dump):
        total, by = count()
        print('EGEUNet() parameters: %d' % total)
        print('  ' + ', '.join('%s %d' % kv for kv in by.items()))
    if a.check_fixtures:
        ok = check_fixtures(a.fixtures) and ok
    if a.export:
        export(a.export)
    if a.network_fixture:
        network_fixture(a.network_fixture)
    if a.verify_dump:
        ok = verify_dump(a.verify_dump, a.weights) and ok
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
