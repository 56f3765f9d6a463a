"""The tablet app for shelter managers (`/shelter/`): status and head-count.

Pages are rendered here; their forms write through the JSON API from the page's small
script, which queues writes while offline and replays them with their idempotency keys.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Field
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from disaster.core.roles import is_staff_role
from shelters.access import can_write_shelter
from shelters.models import HeadCount, Shelter
from shelters.services import percent_of_capacity


def shelters_of(user):
    """The shelters a user runs from the tablet: their own, or every shelter for staff."""
    shelters = Shelter.objects.visible_to(user)
    return shelters.filter(is_shelter=True) if is_staff_role(user) else shelters


def tablet_shelter(request: HttpRequest, shelter_id: int) -> Shelter:
    """The shelter of a tablet page, if the signed-in user may run it."""
    shelter = get_object_or_404(Shelter.objects.select_related("depot"), pk=shelter_id)
    if not can_write_shelter(request.user, shelter.pk):
        raise PermissionDenied
    return shelter


@login_required
def choose(request: HttpRequest) -> HttpResponse:
    shelters = list(shelters_of(request.user).order_by("name"))
    if len(shelters) == 1:
        return redirect("tablet:shelter", shelter_id=shelters[0].pk)
    return render(request, "tablet/choose.html", {"shelters": shelters})


def _figures(names: tuple[str, ...], latest: HeadCount | None) -> list[tuple[str, str, int]]:
    """(name, label, last value) of head-count figures: the form starts from the last count,
    so that sending it unchanged but for the total keeps everything else as it was."""
    return [
        (field.name, str(field.verbose_name), getattr(latest, field.name) if latest else 0)
        for field in map(HeadCount._meta.get_field, names)
        if isinstance(field, Field)  # all of them: columns, not relations
    ]


@login_required
def shelter(request: HttpRequest, shelter_id: int) -> HttpResponse:
    shelter = tablet_shelter(request, shelter_id)
    latest = HeadCount.objects.filter(shelter=shelter).first()
    history = HeadCount.objects.filter(shelter=shelter).select_related("by")[:10]
    return render(
        request,
        "tablet/shelter.html",
        {
            "shelter": shelter,
            "tab": "shelter",
            "latest": latest,
            "history": history,
            "percent": percent_of_capacity(latest.total, shelter.capacity) if latest else None,
            "statuses": Shelter.Status.choices,
            "needs": _figures((*HeadCount.NEEDS, "women", "pets"), latest),
            "elsewhere": _figures(("supported_at_home", "supported_in_cars"), latest),
        },
    )
