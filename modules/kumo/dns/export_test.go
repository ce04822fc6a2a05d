package dns

// MaxConnUses is how many queries one connection carries before it is
// replaced.
const MaxConnUses = maxConnUses
