# Reference values for tests/test_stats_*.py, computed by R, independently of our code.
#
# Run from the repository root:  Rscript tests/reference/stats_reference.R
# R 4.2 with plm, sandwich, lmtest (Debian: r-base-core r-cran-plm r-cran-sandwich r-cran-lmtest)
# and pwr (r-cran-pwr). Every number the tests paste is printed here with 15 significant digits.
# Data: tests/reference/*.csv (grunfeld.csv is plm's `Grunfeld`, written by write.csv;
# chickegg.csv and mandible.csv are lmtest's `ChickEgg` and `Mandible`).

suppressMessages({library(plm); library(sandwich); library(lmtest)})
options(digits = 15)
show <- function(label, value) cat(label, ":", format(value, digits = 15), "\n")

cat("## cor.test (the example data of R's ?cor.test, Hollander & Wolfe 1973 p. 187)\n")
x <- c(44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1)
y <- c( 2.6,  3.1,  2.5,  5.0,  3.6,  4.0,  5.2,  2.8,  3.8)
for (alt in c("two.sided", "greater", "less")) {
  p <- cor.test(x, y, method = "pearson", alternative = alt)
  show(paste("pearson", alt, "estimate, ci, p"), c(p$estimate, p$conf.int, p$p.value))
  s <- cor.test(x, y, method = "spearman", alternative = alt)   # exact (n < 1290, no ties)
  show(paste("spearman", alt, "estimate, S, p"), c(s$estimate, s$statistic, s$p.value))
  k <- cor.test(x, y, method = "kendall", alternative = alt)    # exact (n < 50, no ties)
  show(paste("kendall", alt, "estimate, T, p"), c(k$estimate, k$statistic, k$p.value))
}

# n = 20 without ties: R uses the AS 89 Edgeworth series, we use the t approximation
x20 <- c(-0.6265,0.1836,-0.8356,1.5953,0.3295,-0.8205,0.4874,0.7383,0.5758,-0.3054,1.5118,
         0.3898,-0.6212,-2.2147,1.1249,-0.0449,-0.0162,0.9438,0.8212,0.5939)
y20 <- c(1.2115,1.7479,-0.6865,-2.3834,1.5692,-0.9328,0.1758,-2.2032,-0.3805,0.5305,4.2292,
         0.1842,0.1541,-2.3223,-1.6292,-0.8749,-0.8048,0.8252,3.0213,2.1203)
show("spearman n=20 two.sided estimate, p", unlist(cor.test(x20, y20, method = "spearman")[c("estimate", "p.value")]))

cat("## p.adjust on the 15 p-values of Benjamini & Hochberg (1995), section 4\n")
p <- c(0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
       0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000)
for (m in c("bonferroni", "holm", "hochberg", "hommel", "BH", "BY")) {
  show(paste("p.adjust", m), p.adjust(p, method = m))
}
show("p.adjust BH with NA", p.adjust(c(0.01, NA, 0.04, 0.03), method = "BH"))

cat("## plm: Grunfeld (Baltagi, Econometric Analysis of Panel Data, Table 2.1)\n")
g <- read.csv("tests/reference/grunfeld.csv")
pg <- pdata.frame(g, index = c("firm", "year"))
N <- nrow(g); G <- length(unique(g$firm)); TT <- length(unique(g$year))
w1 <- plm(inv ~ value + capital, data = pg, model = "within", effect = "individual")
show("within1 coef", coef(w1))
show("within1 classical se", sqrt(diag(vcov(w1))))
show("within1 df.residual", df.residual(w1))
# plm's "sss": G/(G-1) * (N-1)/(N-K), K = slopes; for one-way effects nested in the clusters
# the nested effects are not counted (fixest counts a nested effect as one parameter, K + 1).
show("within1 cluster sss se",
     sqrt(diag(vcovHC(w1, method = "arellano", type = "sss", cluster = "group"))))
show("within1 cluster HC0 se",
     sqrt(diag(vcovHC(w1, method = "arellano", type = "HC0", cluster = "group"))))
w2 <- plm(inv ~ value + capital, data = pg, model = "within", effect = "twoways")
show("within2 coef", coef(w2))
show("within2 classical se", sqrt(diag(vcov(w2))))
show("within2 df.residual", df.residual(w2))
V0 <- vcovHC(w2, method = "arellano", type = "HC0", cluster = "group")
# by hand: K = 2 slopes + (T - 1) year effects, the nested firm effects not counted (fixest: K + 1)
K <- 2 + (TT - 1)
show("within2 cluster fixest-like se", sqrt(diag(V0 * G / (G - 1) * (N - 1) / (N - K))))
show("within2 cluster HC0 se", sqrt(diag(V0)))
wt <- plm(inv ~ value + capital, data = pg, model = "within", effect = "time")
show("within_time coef", coef(wt))
# year effects only, clustered by firm: nothing nested, K = 2 slopes + T year effects
Vt <- vcovHC(wt, method = "arellano", type = "HC0", cluster = "group")
show("within_time cluster fixest-like se", sqrt(diag(Vt * G / (G - 1) * (N - 1) / (N - 2 - TT))))
# Heteroskedasticity-robust (HC1) SEs of the same models as least-squares dummy variable fits
d1 <- lm(inv ~ value + capital + factor(firm), data = g)
show("lsdv1 HC1 se", sqrt(diag(vcovHC(d1, type = "HC1")))[2:3])
d2 <- lm(inv ~ value + capital + factor(firm) + factor(year), data = g)
show("lsdv2 HC1 se", sqrt(diag(vcovHC(d2, type = "HC1")))[2:3])
# std_effect: slope times sd(two-way demeaned x) / sd(two-way demeaned y)
rx <- function(v) resid(lm(v ~ factor(g$firm) + factor(g$year)))
show("within2 std_effect value, capital",
     coef(w2) * c(sd(rx(g$value)), sd(rx(g$capital))) / sd(rx(g$inv)))
show("within1 std_effect value, capital",
     coef(w1) * c(sd(rx(g$value)), sd(rx(g$capital))) / sd(rx(g$inv)))
# pooled OLS with an intercept, clustered by firm, Stata's convention K = 3 (with _cons)
po <- lm(inv ~ value + capital, data = g)
show("pooled coef", coef(po))
show("pooled cluster stata se",
     sqrt(diag(vcovCL(po, cluster = ~firm, type = "HC1", cadjust = TRUE))))

cat("## Petersen's test data (as shipped with statsmodels' tests), OLS y ~ x clustered by firm\n")
pt <- read.csv("tests/reference/petersen.csv")
fp <- lm(y ~ x, data = pt)
show("petersen coef", coef(fp))
show("petersen classical se", sqrt(diag(vcov(fp))))
show("petersen firm cluster stata se",
     sqrt(diag(vcovCL(fp, cluster = ~firmid, type = "HC1", cadjust = TRUE))))
fpw <- plm(y ~ x, data = pdata.frame(pt, index = c("firmid", "year")), model = "within")
show("petersen within coef", coef(fpw))
show("petersen within cluster sss se",
     sqrt(diag(vcovHC(fpw, method = "arellano", type = "sss", cluster = "group"))))

cat("## lmtest ?coeftest example: Mandible, lm(length ~ age, subset = age <= 28)\n")
md <- read.csv("tests/reference/mandible.csv")
fm <- lm(length ~ age, data = md, subset = (age <= 28))
show("mandible coef", coef(fm))
show("mandible classical se", sqrt(diag(vcov(fm))))
show("mandible HC1 se", sqrt(diag(vcovHC(fm, type = "HC1"))))
show("mandible n", nobs(fm))

cat("## lmtest ?grangertest example: ChickEgg\n")
ce <- read.csv("tests/reference/chickegg.csv")
ts_ce <- ts(ce[, c("chicken", "egg")], start = 1930)
for (o in 1:4) {
  a <- grangertest(egg ~ chicken, order = o, data = ts_ce)
  b <- grangertest(chicken ~ egg, order = o, data = ts_ce)
  show(paste("granger chicken->egg order", o, "F, p, df_resid"), c(a$F[2], a$`Pr(>F)`[2], a$Res.Df[1]))
  show(paste("granger egg->chicken order", o, "F, p, df_resid"), c(b$F[2], b$`Pr(>F)`[2], b$Res.Df[1]))
}

cat("## Newey-West (sandwich::NeweyWest) for an ADL(1, 1): egg_t ~ egg_{t-1} + chicken_{t-1}\n")
n <- nrow(ce)
adl <- data.frame(egg = ce$egg[2:n], egg_l1 = ce$egg[1:(n - 1)], chicken_l1 = ce$chicken[1:(n - 1)])
fa <- lm(egg ~ egg_l1 + chicken_l1, data = adl)
show("adl coef", coef(fa))
show("adl NW lag3 adjust se", sqrt(diag(NeweyWest(fa, lag = 3, prewhite = FALSE, adjust = TRUE))))
show("adl NW lag3 noadjust se", sqrt(diag(NeweyWest(fa, lag = 3, prewhite = FALSE, adjust = FALSE))))
show("adl classical se", sqrt(diag(vcov(fa))))

cat("## power: stats::power.t.test (noncentral t) and pwr::pwr.r.test\n")
# strict = TRUE counts both rejection tails (as statsmodels); tol tightened from the default
# .Machine$double.eps^0.25 so that the root is accurate to far more digits than we compare.
for (d in c(0.2, 0.5, 0.8)) {
  show(paste("power.t.test two.sample n, d =", d),
       power.t.test(delta = d, power = 0.8, strict = TRUE, tol = 1e-12)$n)
  show(paste("power.t.test one.sample n, d =", d),
       power.t.test(delta = d, power = 0.8, type = "one.sample", strict = TRUE, tol = 1e-12)$n)
}
show("power.t.test two.sample n, d = 0.5, alpha = 0.05/4",
     power.t.test(delta = 0.5, power = 0.8, sig.level = 0.0125, strict = TRUE, tol = 1e-12)$n)
# pwr.r.test solves for n with uniroot's default tolerance; solve its power function tightly.
pwr_n <- function(r, alt = "two.sided") {
  f <- function(n) pwr::pwr.r.test(n = n, r = r, alternative = alt)$power - 0.8
  uniroot(f, c(4 + 1e-10, 1e9), tol = 1e-12)$root
}
for (r in c(0.1, 0.3, 0.5)) {
  show(paste("pwr.r.test n, r =", r), pwr_n(r))
  show(paste("pwr.r.test n (default tol), r =", r), pwr::pwr.r.test(r = r, power = 0.8)$n)
}
show("pwr.r.test n, r = 0.3, one-sided", pwr_n(0.3, "greater"))
