"""The offline sandbox image: recipe, content-hash tag and builder."""

from workbench.sandbox.image.build import (
    DEBOOTSTRAP_ARGS,
    IMAGE_REPO,
    build_image,
    default_image,
    dockerfile_text,
    recipe_hash,
)

__all__ = [
    "DEBOOTSTRAP_ARGS",
    "IMAGE_REPO",
    "build_image",
    "default_image",
    "dockerfile_text",
    "recipe_hash",
]
