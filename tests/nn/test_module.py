"""Module and Parameter: registration, traversal, modes, state dicts, scopes, repr."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3))
        self.first = nn.Linear(2, 3)
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.head = nn.Sequential(nn.Linear(3, 1), nn.Tanh())

    def forward(self, x):
        x = self.first(x) * self.scale
        for block in self.blocks:
            x = block(x).tanh()
        return self.head(x)


EXPECTED_NAMES = [
    "scale", "first.weight", "first.bias", "blocks.0.weight", "blocks.0.bias",
    "blocks.1.weight", "blocks.1.bias", "head.0.weight", "head.0.bias",
]


def test_named_parameters_are_dotted_in_registration_order():
    assert [name for name, _ in TwoLayer().named_parameters()] == EXPECTED_NAMES


def test_parameters_follow_named_parameters():
    model = TwoLayer()
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


@pytest.mark.torch
def test_named_parameters_match_torch_for_the_same_structure():
    torch = pytest.importorskip("torch")

    class TorchTwoLayer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.first = torch.nn.Linear(2, 3)
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)])
            self.head = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Tanh())

    assert [n for n, _ in TorchTwoLayer().named_parameters()] == EXPECTED_NAMES
    assert list(TorchTwoLayer().state_dict()) == list(TwoLayer().state_dict())


def test_children_and_modules_traversal_order():
    model = TwoLayer()
    assert [name for name, _ in model.named_children()] == ["first", "blocks", "head"]
    assert [name for name, _ in model.named_modules()] == [
        "", "first", "blocks", "blocks.0", "blocks.1", "head", "head.0", "head.1",
    ]
    assert next(model.children()) is model.first
    assert len(list(model.modules())) == 8


def test_parameter_requires_grad_and_ops_on_it_give_plain_tensors():
    weight = nn.Parameter(np.ones((2, 2)))
    assert weight.requires_grad and weight.is_leaf
    product = weight * 2
    assert type(product) is tr.Tensor
    assert type(weight.detach()) is tr.Tensor


def test_parameter_from_a_tensor_takes_its_data_as_a_new_leaf():
    source = tr.Tensor(np.ones(3), requires_grad=True) * 2
    weight = nn.Parameter(source)
    assert weight.is_leaf and weight.requires_grad
    np.testing.assert_array_equal(weight.numpy(), [2.0, 2.0, 2.0])


def test_registering_a_parameter_names_it_after_the_attribute_unless_named():
    model = nn.Module()
    model.weight = nn.Parameter(np.ones(2))
    model.other = nn.Parameter(np.ones(2), name="mine")
    assert model.weight.name == "weight"
    assert model.other.name == "mine"


def test_assigning_a_plain_tensor_to_a_parameter_slot_raises_type_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        layer.weight = tr.Tensor(np.ones((2, 2)))
    assert isinstance(layer.weight, nn.Parameter)


def test_none_in_a_parameter_slot_removes_it_from_the_parameters():
    layer = nn.Linear(2, 2)
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    layer.bias = nn.Parameter(np.zeros(2))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_assigning_before_module_init_raises_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__"):
        Forgetful()


def test_deleting_an_attribute_unregisters_it():
    model = TwoLayer()
    del model.first
    assert "first.weight" not in dict(model.named_parameters())
    assert not hasattr(model, "first")


def test_shared_parameter_is_listed_once_but_saved_under_each_name():
    model = nn.Module()
    model.a = nn.Linear(2, 2)
    model.b = nn.Linear(2, 2)
    model.b.weight = model.a.weight
    assert len(list(model.parameters())) == 3
    assert set(model.state_dict()) == {"a.weight", "a.bias", "b.weight", "b.bias"}


def test_weight_shared_across_calls_accumulates_gradient():
    layer = nn.Linear(1, 1, bias=False, dtype=np.float64)
    layer.weight.data[...] = 3.0
    x = tr.Tensor(np.array([[2.0]]))
    (layer(layer(x))).sum().backward()  # y = w * w * x, dy/dw = 2 w x
    assert layer.weight.grad.item() == pytest.approx(2 * 3.0 * 2.0)


def test_zero_grad_clears_every_gradient():
    model = TwoLayer()
    model(tr.Tensor(np.ones((4, 2)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_set_training_on_every_descendant():
    model = TwoLayer()
    assert model.train() is model
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())


def test_calling_a_container_without_forward_raises_type_error():
    with pytest.raises(TypeError, match="no forward"):
        nn.ModuleList([nn.Linear(2, 2)])(tr.Tensor(np.ones((1, 2))))


def test_apply_visits_children_before_parent():
    model = TwoLayer()
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "TwoLayer"
    assert visited.index("Linear") < visited.index("ModuleList")


def test_to_double_converts_parameters_in_place():
    model = TwoLayer()
    first = model.first.weight
    model.double()
    assert model.first.weight is first
    assert all(p.dtype == np.float64 for p in model.parameters())
    with pytest.raises(tr.DTypeError):
        model.to(np.int32)


# -- scopes -------------------------------------------------------------------------------------


def test_call_opens_a_scope_named_after_the_attribute_with_the_class_name_at_the_root():
    model = TwoLayer()
    out = model(tr.Tensor(np.ones((1, 2))))
    assert out._scope == ("TwoLayer", "head", "1")
    linear_out = out._ctx.parents[0]  # the head's Linear output
    assert linear_out._scope == ("TwoLayer", "head", "0")


def test_module_list_items_are_scoped_by_the_list_name():
    model = TwoLayer()
    seen = set()
    out = model(tr.Tensor(np.ones((1, 2))))
    stack = [out]
    while stack:
        node = stack.pop()
        if node._scope:
            seen.add(node._scope)
        if node._ctx is not None:
            stack.extend(p for p in node._ctx.parents if isinstance(p, tr.Tensor))
    assert ("TwoLayer", "blocks.0") in seen and ("TwoLayer", "blocks.1") in seen
    assert tr.autograd.mode.current_scope() == ()


def test_scope_is_closed_when_forward_raises():
    layer = nn.Linear(2, 2)
    with pytest.raises(tr.ShapeError):
        layer(tr.Tensor(np.ones((1, 3))))
    assert tr.autograd.mode.current_scope() == ()


# -- repr ---------------------------------------------------------------------------------------


def test_repr_is_a_tree_like_pytorch():
    assert repr(TwoLayer()) == (
        "TwoLayer(\n"
        "  (first): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (blocks): ModuleList(\n"
        "    (0): Linear(in_features=3, out_features=3, bias=True)\n"
        "    (1): Linear(in_features=3, out_features=3, bias=True)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")"
    )


# -- state dicts --------------------------------------------------------------------------------


def snapshot(model):
    return {name: (p.data.copy(), p.data.dtype) for name, p in model._state_items()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name, (array, dtype) in before.items():
        assert after[name][1] == dtype
        assert after[name][0].tobytes() == array.tobytes(), name


def test_state_dict_returns_copies():
    model = TwoLayer()
    state = model.state_dict()
    state["first.weight"][...] = 99.0
    assert not np.any(model.first.weight.numpy() == 99.0)


def test_load_state_dict_round_trip_restores_every_value():
    source, target = TwoLayer(), TwoLayer()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_state_dict_casts_other_float_dtypes_to_the_parameters_dtype():
    model = TwoLayer()
    state = {k: v.astype(np.float64) + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert model.first.weight.dtype == np.float32
    np.testing.assert_allclose(model.first.weight.numpy(), state["first.weight"], rtol=1e-6)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = TwoLayer()
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    del state["first.bias"]
    state["extra.weight"] = np.zeros(2, dtype=np.float32)
    state["head.0.weight"] = np.zeros((3, 1), dtype=np.float32)
    state["blocks.0.bias"] = np.zeros(3, dtype=np.int64)
    with pytest.raises(tr.StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "4 problems" in message
    assert "missing key 'first.bias'" in message
    assert "unexpected key 'extra.weight'" in message
    assert "'head.0.weight': shape (3, 1) in the state dict, (1, 3) in the module" in message
    assert "'blocks.0.bias': dtype int64" in message
    assert_unchanged(model, before)


def test_load_state_dict_not_strict_reports_keys_but_still_rejects_shapes():
    model = TwoLayer()
    state = model.state_dict()
    del state["scale"]
    state["bonus"] = np.zeros(1, dtype=np.float32)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["bonus"]
    before = snapshot(model)
    state["first.weight"] = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(tr.StateDictError, match=r"first\.weight"):
        model.load_state_dict(state, strict=False)
    assert_unchanged(model, before)


def test_load_state_dict_rejects_values_that_are_not_arrays():
    model = nn.Linear(2, 2)
    before = snapshot(model)
    state = model.state_dict()
    state["bias"] = "not an array"
    with pytest.raises(tr.StateDictError, match="'bias'"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_refuses_before_writing_when_a_parameter_is_read_only():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].bias.data.flags.writeable = False
    before = snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    with pytest.raises(tr.StateDictError, match=r"'1\.bias': the module's parameter is a read-only"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


@settings(max_examples=50)
@given(
    drop=st.sets(st.sampled_from(EXPECTED_NAMES)),
    reshape=st.sets(st.sampled_from(EXPECTED_NAMES)),
    extra=st.booleans(),
)
def test_any_broken_state_dict_leaves_the_module_bit_for_bit_unchanged(drop, reshape, extra):
    model = TwoLayer()
    before = snapshot(model)
    state = {k: v - 1 for k, v in model.state_dict().items()}
    for name in reshape:
        state[name] = np.zeros(state[name].size + 1, dtype=np.float32)
    for name in drop:
        del state[name]
    if extra:
        state["surplus"] = np.zeros(1, dtype=np.float32)
    broken = bool(drop or (reshape - drop) or extra)
    if broken:
        with pytest.raises(tr.StateDictError) as info:
            model.load_state_dict(state)
        problems = len(drop) + len(reshape - drop) + int(extra)
        assert f"{problems} problem" in str(info.value)
        assert_unchanged(model, before)
    else:
        model.load_state_dict(state)
        np.testing.assert_array_equal(model.scale.numpy(), before["scale"][0] - 1)


@pytest.mark.torch
def test_state_dict_loads_into_torch_and_back():
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(tr.Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    fresh.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    np.testing.assert_allclose(fresh(tr.Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_deep_copy_gives_independent_parameters_with_the_same_values():
    model = TwoLayer()
    clone = copy.deepcopy(model)
    assert clone.first.weight is not model.first.weight
    assert clone._parameters["scale"] is clone.scale
    np.testing.assert_array_equal(clone.first.weight.numpy(), model.first.weight.numpy())
    clone.first.weight.data += 1
    assert not np.array_equal(clone.first.weight.numpy(), model.first.weight.numpy())
