using ParameterServer.Core.Data;
using ParameterServer.Core.Metrics;
using ParameterServer.Core.Models;
using ParameterServer.Core.Sampling;

namespace ParameterServer.Core.Tests;

/// <summary>The link model's gradients against finite differences, AUC against a pairwise count, and the negative sampler.</summary>
public class LinkModelTests
{
    public static TheoryData<LinkScore, LinkLoss, bool> Cases()
    {
        var data = new TheoryData<LinkScore, LinkLoss, bool>();
        foreach (var score in new[] { LinkScore.Dot, LinkScore.Cosine })
        {
            foreach (var loss in new[] { LinkLoss.Logistic, LinkLoss.Mse })
            {
                data.Add(score, loss, true);
                data.Add(score, loss, false);
            }
        }

        return data;
    }

    /// <summary>The loss in double precision, written out independently of the SIMD code.</summary>
    private static double ReferenceLoss(LinkScore score, LinkLoss loss, double[] e, double[] l, bool positive)
    {
        double dot = 0, ne = 0, nl = 0;
        for (int i = 0; i < e.Length; i++)
        {
            dot += e[i] * l[i];
            ne += e[i] * e[i];
            nl += l[i] * l[i];
        }

        double s = score == LinkScore.Dot ? dot : dot / Math.Sqrt(ne * nl);
        return loss == LinkLoss.Mse
            ? 0.5 * Math.Pow(s - (positive ? 1 : -1), 2)
            : Math.Log(1 + Math.Exp(s)) - (positive ? s : 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(LinkScore score, LinkLoss loss, bool positive)
    {
        var rng = new Random(7);
        const int dim = 19;
        var e = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var l = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var model = new LinkModel(score, loss);
        var ge = new float[dim];
        var gl = new float[dim];
        float value = model.Backward(e, l, positive, 1f, ge, gl);
        double[] ed = [.. e.Select(x => (double)x)], ld = [.. l.Select(x => (double)x)];
        Assert.Equal(ReferenceLoss(score, loss, ed, ld, positive), value, 1e-5);
        const double h = 1e-6;
        for (int i = 0; i < dim; i++)
        {
            foreach (var (vector, gradient) in new[] { (ed, ge), (ld, gl) })
            {
                double keep = vector[i];
                vector[i] = keep + h;
                double up = ReferenceLoss(score, loss, ed, ld, positive);
                vector[i] = keep - h;
                double down = ReferenceLoss(score, loss, ed, ld, positive);
                vector[i] = keep;
                double numeric = (up - down) / (2 * h);
                Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-4 + (1e-3 * Math.Abs(numeric)), $"component {i}: numeric {numeric}, analytic {gradient[i]}");
            }
        }
    }

    [Fact]
    public void GradientsAccumulateScaledAndForwardMatchesTheScore()
    {
        var model = new LinkModel(LinkScore.Dot, LinkLoss.Logistic);
        float[] e = [1, 2], l = [3, -1];
        Assert.Equal(1f, model.Forward(e, l));
        var ge = new float[] { 10, 10 };
        var gl = new float[2];
        model.Backward(e, l, positive: true, scale: 2f, ge, gl);
        float d = 2f * ((1f / (1f + MathF.Exp(-1f))) - 1f);
        Assert.Equal(10 + (d * 3), ge[0], 1e-6f);
        Assert.Equal(10 - d, ge[1], 1e-6f);
        Assert.Equal(0f, new LinkModel(LinkScore.Cosine, LinkLoss.Mse).Forward([0, 0], l));
    }

    [Fact]
    public void ExtremeScoresGiveFiniteLogisticLosses()
    {
        var model = new LinkModel(LinkScore.Dot, LinkLoss.Logistic);
        Assert.Equal(0f, model.LossOf(200f, positive: true), 1e-6f);
        Assert.Equal(200f, model.LossOf(200f, positive: false), 1e-3f);
        Assert.Equal(200f, model.LossOf(-200f, positive: true), 1e-3f);
    }

    [Fact]
    public void AucEqualsThePairwiseCountWithHalfTies()
    {
        var rng = new Random(3);
        for (int round = 0; round < 20; round++)
        {
            // Scores on a coarse grid so that ties happen.
            var pos = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => rng.Next(0, 10) / 2f).ToArray();
            var neg = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => rng.Next(0, 10) / 2f).ToArray();
            double wins = 0;
            foreach (float p in pos)
            {
                foreach (float n in neg)
                {
                    wins += p > n ? 1 : p == n ? 0.5 : 0;
                }
            }

            Assert.Equal(wins / (pos.Length * neg.Length), Auc.Of(pos, neg), 12);
        }

        Assert.True(double.IsNaN(Auc.Of([1f], [])));
    }

    private static LinkPairs Pairs(int entities, int links, params (int E, int L)[] pairs) => new(
        [.. Enumerable.Range(100, entities).Select(i => (long)i)], [.. Enumerable.Range(500, links).Select(i => (long)i)],
        [.. pairs.Select(p => p.E)], [.. pairs.Select(p => p.L)], new string?[entities], [.. Enumerable.Range(0, links).Select(i => $"l{i}")]);

    [Fact]
    public void NegativeSamplerNeverEmitsATruePairOfAnySet()
    {
        var rng = new Random(11);
        var train = new List<(int, int)>();
        var held = new List<(int, int)>();
        for (int e = 0; e < 50; e++)
        {
            foreach (int l in Enumerable.Range(0, 40).OrderBy(_ => rng.Next()).Take(rng.Next(1, 39)))
            {
                (rng.Next(5) == 0 ? held : train).Add((e, l));
            }
        }

        var a = Pairs(50, 40, [.. train]);
        var b = Pairs(50, 40, [.. held]);
        var truth = train.Concat(held).ToHashSet();
        var sampler = new NegativeSampler(a, b);
        var random = new Random(5);
        var drawn = new HashSet<int>();
        for (int i = 0; i < 50_000; i++)
        {
            int e = i % 50;
            int l = sampler.Draw(e, random);
            Assert.DoesNotContain((e, l), truth);
            Assert.InRange(l, 0, 39);
            if (e == 0)
            {
                drawn.Add(l);
            }
        }

        // Every non-link of entity 0 is reachable.
        Assert.Equal(40 - truth.Count(p => p.Item1 == 0), drawn.Count);
        Assert.All(truth, p => Assert.True(sampler.IsTrue(p.Item1, p.Item2)));
    }

    [Fact]
    public void AnEntityLinkedToEveryLinkHasNoNegative()
    {
        var sampler = new NegativeSampler(Pairs(2, 2, (0, 0), (0, 1), (1, 0)));
        Assert.Equal(1, sampler.Draw(1, new Random(1)));
        var e = Assert.Throws<InvalidOperationException>(() => sampler.Draw(0, new Random(1)));
        Assert.Contains("linked to every one of the 2 links", e.Message);
    }

    [Fact]
    public void SplitKeepsATrainingPairForEveryEntityAndLinkOfAHeldOutPair()
    {
        var rng = new Random(2);
        var pairs = Enumerable.Range(0, 3000).Select(_ => (rng.Next(200), rng.Next(150))).Distinct().ToArray();
        var all = Pairs(200, 150, pairs);
        var (train, valid) = all.Split(0.2, 9);
        Assert.Equal(all.Count, train.Count + valid.Count);
        Assert.InRange(valid.Count, (int)(0.15 * all.Count), (int)(0.21 * all.Count));
        var trainEntities = train.Entity.ToHashSet();
        var trainLinks = train.Link.ToHashSet();
        Assert.All(valid.Entity, e => Assert.Contains(e, trainEntities));
        Assert.All(valid.Link, l => Assert.Contains(l, trainLinks));
        var (again, _) = all.Split(0.2, 9);
        Assert.Equal(train.Entity, again.Entity);
    }
}
