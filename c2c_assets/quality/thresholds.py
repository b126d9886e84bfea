"""Every threshold of the quality domain, documented once (the README quotes this table).

Perceptual hashes are imagehash's pHash and dHash at ``hash_size = 16`` (256 bits each, 512 together):
at the 64-bit default, re-encoded copies of the sample's drawings overlap with unrelated photos of the
same category; at 256 bits they separate. On the 300-post sample's 645 photos: the planted copies (re-encoded,
resized to 80%, cropped 2% per side) are at most 76 of 512 bits apart, two photos of one post at least 87,
unrelated photos at least 100 (on the 3,000-post sample some unrelated tyres come to 42: see COLOUR_LAYOUT_DIFF).
"""

HASH_SIZE = 16  # imagehash hash_size: 16 x 16 = 256 bits per hash
HASH_BITS = 2 * HASH_SIZE * HASH_SIZE  # pHash || dHash
# Two photos are near-duplicates when pHash and dHash together differ in at most this many of 512 bits AND
# their colour layouts (mean RGB of a 4 x 4 grid) differ by at most COLOUR_LAYOUT_DIFF grey levels on average:
# the hashes see grey structure only, and the sample's tyres, rims and lenses drawn on different backgrounds
# are 42-66 bits apart. On the 3,000-post sample: planted copies within 82 bits and 5.0 levels; of 557
# unrelated pairs within 100 bits, 2 also within 5.5 levels.
NEAR_DUPLICATE_BITS = 90
COLOUR_LAYOUT_DIFF = 5.5
PHOTO_NEIGHBOURS = 16  # each photo's nearest hashes looked at (a bigger group connects through its members)
# A photo group used by this many listings that are different items (texts not near-duplicates) is a stock photo.
STOCK_MIN_ITEMS = 3

# Reposts: listings that share a (non-stock) near-duplicate photo, or whose post vectors are near AND whose
# texts are near-duplicates; in both cases with prices within PRICE_TOLERANCE of each other (or one unknown).
REPOST_VECTOR_SIMILARITY = 0.90
TEXT_JACCARD = 0.5  # MinHash estimate of the Jaccard similarity of word 2-shingles
MINHASH_PERMUTATIONS = 64
PRICE_TOLERANCE = 0.15  # |a - b| <= 15% of the larger price
POST_NEIGHBOURS = 10  # k of the post k-NN (uniqueness, outliers, repost candidates)

# Photo flags, on the stored photo (at most 1024 px, JPEG-decoded at >= 256 px) read in grey. On the sample's
# 645 photos (300 posts): natural photos have a sharpness of at least 72, a mean grey level 22-247.
BLURRY_LAPLACIAN_VAR = 40.0  # variance of the Laplacian (grey stretched to a std of 64 levels) below this: blurry
DARK_MEAN = 18.0  # mean grey level below this: dark
BRIGHT_MEAN = 248.0  # mean grey level above this: burnt out
LOW_ENTROPY_BITS = 2.5  # Shannon entropy of the grey histogram (bits) below this: low information
TINY_PIXELS = 100 * 100  # fewer pixels than this: tiny
ODD_ASPECT = 3.0  # longer side over shorter side above this: odd aspect ratio

# Post flags: a placeholder price is one ``c2c_assets.prices.is_usable`` refuses ($0-$1, 1234, 99999...).

# Scores (FiftyOne Brain's definitions): uniqueness from the distances to the UNIQUENESS_K nearest
# neighbours weighted UNIQUENESS_WEIGHTS, normalised by the largest; an outlier has a mean k-NN
# distance above this quantile of all posts.
UNIQUENESS_WEIGHTS = (0.6, 0.3, 0.1)
OUTLIER_QUANTILE = 0.99
