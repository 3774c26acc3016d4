"""Performance predictors: an encoder plus a head, trained with regression or ranking losses."""
