using System.Numerics.Tensors;
using ParameterServer.Client.Query;
using ParameterServer.Client.Training;
using ParameterServer.Core.Data;
using ParameterServer.Core.Models;
using ParameterServer.Core.Search;


namespace ParameterServer.Client.Tests;

/// <summary>Link embeddings trained through the real in-process cluster, checked against planted structure.</summary>
[Collection(ClusterCollection.Name)]
public sealed class LinkTrainingTests(ClusterFixture fixture)
{
    /// <summary>Entities and links in <paramref name="clusters"/> groups; each entity links to random links of its own group.</summary>
    private static (LinkPairs Pairs, Dictionary<long, int> Group) Planted(int clusters, int entitiesPer, int linksPer, int degree, int seed)
    {
        var rng = new Random(seed);
        int entities = clusters * entitiesPer, links = clusters * linksPer;
        var e = new List<int>();
        var l = new List<int>();
        for (int i = 0; i < entities; i++)
        {
            int c = i / entitiesPer;
            foreach (int k in Enumerable.Range(0, linksPer).OrderBy(_ => rng.Next()).Take(degree))
            {
                e.Add(i);
                l.Add((c * linksPer) + k);
            }
        }

        var pairs = new LinkPairs(
            [.. Enumerable.Range(0, entities).Select(i => 1000L + i)], [.. Enumerable.Range(0, links).Select(i => 90_000L + i)],
            [.. e], [.. l], new string?[entities], [.. Enumerable.Range(0, links).Select(i => $"link {i}")]);
        return (pairs, Enumerable.Range(0, entities).ToDictionary(i => 1000L + i, i => i / entitiesPer));
    }

    private static LinkTrainingOptions Options(string prefix) => new()
    {
        Dim = 16,
        Epochs = 30,
        BatchSize = 64,
        Negatives = 4,
        LearningRate = 0.02f,
        Workers = 2,
        Seed = 3,
        Patience = 5,
        TablePrefix = ClusterFixture.UniqueName(prefix),
    };

    [Theory]
    [InlineData(LinkScore.Dot, LinkLoss.Logistic)]
    [InlineData(LinkScore.Cosine, LinkLoss.Mse)]
    public async Task Entities_of_a_planted_cluster_are_each_others_nearest_neighbours(LinkScore score, LinkLoss loss)
    {
        var (pairs, group) = Planted(clusters: 8, entitiesPer: 40, linksPer: 25, degree: 10, seed: 5);
        var (train, valid) = pairs.Split(0.1, 5);
        var options = Options("planted") with { Score = score, Loss = loss };
        var report = await new LinkTrainer(fixture.Client, options).TrainAsync(train, valid);

        double precision = await NeighbourAgreement.MeasureAsync(fixture.Client, options.EntityTableName, group, 10, SimilarityMetric.Cosine);
        Assert.True(precision >= 0.9, $"precision@10 within the planted cluster {precision:P1} (chance 1/8)");
        Assert.True(report.ValidationAuc > 0.85, $"validation AUC {report.ValidationAuc:F3}");
        Assert.Equal(report.Epochs.Max(x => x.ValidationAuc), report.ValidationAuc);
        Assert.InRange(report.RecallAtK, 0.2, 1.0);
        Assert.Equal(valid.Count, report.RecallPairs);

        // Ranking figures as for recommenders: planted clusters rank above the links with the most entities.
        var ranking = Assert.IsType<RankingReport>(report.Ranking);
        Assert.Null(ranking.Threshold);
        Assert.Equal(valid.Entity.Distinct().Count(), ranking.Users);
        Assert.Equal(valid.LinkIds.Length, ranking.CandidateItems);
        Assert.True(ranking.Model.Ndcg > ranking.MostPopular.Ndcg, $"NDCG@10 {ranking.Model.Ndcg:F3} vs most popular {ranking.MostPopular.Ndcg:F3}");
    }

    [Fact]
    public async Task Toy_categories_0_and_1_that_share_links_end_closer_to_each_other_than_to_2()
    {
        // Seed 000 toy: categories 0 and 1 link to the same things (positives), 2 to the others (their negatives).
        var pairs = new LinkPairs([0, 1, 2], [10, 11, 12, 13, 14, 15], [0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 1, 2, 0, 1, 2, 3, 4, 5], ["0", "1", "2"], ["a", "b", "c", "d", "e", "f"]);
        var options = Options("toy") with { Dim = 8, Epochs = 60, BatchSize = 3, Negatives = 2, Patience = 100 };
        await new LinkTrainer(fixture.Client, options).TrainAsync(pairs, pairs.Subset([]));
        var rows = new float[3 * 8];
        await (await fixture.Client.OpenTableAsync(options.EntityTableName)).PullAsync(new long[] { 0, 1, 2 }, rows);
        float Cos(int a, int b) => TensorPrimitives.CosineSimilarity(rows.AsSpan(a * 8, 8), rows.AsSpan(b * 8, 8));
        Assert.True(Cos(0, 1) > Cos(0, 2) && Cos(0, 1) > Cos(1, 2), $"cos(0,1) {Cos(0, 1):F3}, cos(0,2) {Cos(0, 2):F3}, cos(1,2) {Cos(1, 2):F3}");
    }

    [Fact]
    public async Task A_frozen_entity_table_keeps_its_rows_while_the_links_learn_to_fit_it()
    {
        var (pairs, group) = Planted(clusters: 4, entitiesPer: 20, linksPer: 10, degree: 5, seed: 8);
        var (train, valid) = pairs.Split(0.1, 8);
        var options = Options("frozen") with { FreezeEntities = true, Dim = 4 };

        // Fixed entity vectors, as if imported: one axis per planted cluster.
        var entities = await fixture.Client.CreateTableAsync(new Abstractions.TableSpec { Name = ClusterFixture.UniqueName("imported"), Dim = 4, Shards = 4 });
        var before = new float[pairs.EntityIds.Length * 4];
        for (int i = 0; i < pairs.EntityIds.Length; i++)
        {
            before[(i * 4) + group[pairs.EntityIds[i]]] = 1f;
        }

        await entities.WriteAsync(pairs.EntityIds, before);
        var report = await new LinkTrainer(fixture.Client, options with { EntityTable = entities.Spec.Name }).TrainAsync(train, valid);

        var after = new float[before.Length];
        await entities.PullAsync(pairs.EntityIds, after);
        Assert.Equal(before, after);
        Assert.True(report.ValidationAuc > 0.9, $"validation AUC {report.ValidationAuc:F3} with frozen entities");
        Assert.Equal(entities.Spec.Name, report.EntityTable);
    }

    [Fact]
    public async Task Bad_settings_and_an_unknown_entity_table_are_refused_before_any_table_is_made()
    {
        var (pairs, _) = Planted(2, 5, 5, 2, 1);
        var tablesBefore = await fixture.Client.ListTablesAsync();
        var bad = Assert.Throws<ArgumentException>(() => new LinkTrainer(fixture.Client, Options("bad") with { Negatives = 0 }));
        Assert.Contains("--negatives 0 must be in 1..100", bad.Message);
        var both = Assert.Throws<ArgumentException>(() => new LinkTrainer(fixture.Client, Options("bad") with { FreezeEntities = true, FreezeLinks = true }));
        Assert.Contains("leave nothing to train", both.Message);
        var unknown = await Assert.ThrowsAnyAsync<Exception>(() => new LinkTrainer(fixture.Client, Options("bad") with { EntityTable = "no-such-table" }).TrainAsync(pairs, pairs.Subset([])));
        Assert.Contains("no-such-table", unknown.Message);
        Assert.Equal(tablesBefore.Order(), (await fixture.Client.ListTablesAsync()).Order());
    }
}
