"""The tokens page: your API tokens (created here, shown once), and for admins everybody's."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images_app.forms.tokens import TokenCreateForm
from images_app.models import ApiToken
from images_app.roles import require_role
from images_app.selectors.tokens import tokens_of, tokens_of_others
from images_app.services.tokens import token_create, token_revoke


def _render(request: HttpRequest, form: TokenCreateForm, *, new_token: str = "", status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "mine": list(tokens_of(request.user)),
        "others": tokens_of_others(request.user),
        "new_token": new_token,
    }
    response = render(request, "tokens/list.html", context, status=status)
    # The page may hold a token in clear: no cache, no bfcache copy on a shared machine.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    require_role(request.user)
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if not form.is_valid():
            return _render(request, form, status=400)
        token, raw = token_create(
            user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at(), request=request
        )
        messages.success(request, f"Token {token.name} created. Copy it now: it is not shown again.")
        # Rendered, not redirected: the token exists in clear only in this one response.
        return _render(request, TokenCreateForm(), new_token=raw)
    return _render(request, TokenCreateForm())


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_role(request.user)
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if token_revoke(token=token, actor=request.user, request=request):
        messages.success(request, f"Token {token.name} of {token.user.get_username()} revoked.")
    else:
        messages.info(request, f"Token {token.name} was already revoked.")
    return redirect("token_list")
