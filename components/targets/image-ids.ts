/**
 * The engine's image id for each image reference the stack runs, as `psf up` found them
 * (PSF_IMAGE_IDS, JSON ref → id). A tag that moves to another image (a recipe rebuilt by a
 * newer PSF, a floating tag pulled again) changes the id, and with it the containers: without
 * this the image resource keeps the id it read the first time and nothing rolls.
 */
export function imageIdsFromEnv(): Record<string, string> {
  try {
    const ids = JSON.parse(process.env.PSF_IMAGE_IDS ?? "{}");
    return ids && typeof ids === "object" && !Array.isArray(ids) ? ids : {};
  } catch {
    return {};
  }
}
